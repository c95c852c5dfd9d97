"""A capture as the golden comparison sees it (pure): TCP segments in, connections out.

tshark gives one row per TCP segment (`SEGMENT_FIELDS`, with the raw `tcp.payload`)
and, in a second pass with the key log, a hex dump whose "Decrypted TLS" blocks
are the plaintexts of the records it could decrypt. Here the client's bytes of
each connection are put back in sequence order (a retransmission counts once), cut
into TLS records exactly as the board wrote them, and paired with their plaintexts.
The TCP flags (SYN, FIN, RST and who sent them) are kept in capture order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from harness.analysis.wire.tables import CONTENT_APPLICATION_DATA, CONTENT_CHANGE_CIPHER_SPEC

SEGMENT_FIELDS: tuple[str, ...] = (
    "frame.number",
    "frame.time_epoch",
    "tcp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.fin",
    "tcp.flags.reset",
    "tcp.payload",
)

RECORD_HEADER = 5


@dataclass(frozen=True)
class Segment:
    frame: int
    t: float
    stream: int
    from_client: bool
    seq: int  # tshark's relative sequence number
    flags: frozenset[str]  # of SYN, ACK, FIN, RST
    payload: bytes


@dataclass(frozen=True)
class TlsRecord:
    """One record the client wrote, byte for byte as it crossed the wire."""

    index: int  # position among the client's records of its connection
    content_type: int
    version: int
    body: bytes  # the fragment as sent (ciphertext when `encrypted`)
    encrypted: bool
    plaintext: bytes | None = None  # what tshark decrypted with the key log, if it could

    @property
    def raw(self) -> bytes:
        header = bytes([self.content_type]) + self.version.to_bytes(2, "big")
        return header + len(self.body).to_bytes(2, "big") + self.body


@dataclass(frozen=True)
class Connection:
    stream: int
    records: tuple[TlsRecord, ...]
    flags: tuple[tuple[str, str], ...]  # (who, flag) in capture order: ("client", "SYN")
    trailing: bytes = b""  # client bytes after the last whole record (a capture cut short)
    decrypted: bool = True  # every encrypted record got its plaintext


@dataclass(frozen=True)
class WireRecording:
    connections: tuple[Connection, ...]
    empty_streams: tuple[int, ...] = ()  # connections in which the client wrote nothing


def parse_segments(text: str, server_port: int) -> list[Segment]:
    """Rows of `tshark -T fields -e SEGMENT_FIELDS` (header line first) -> segments."""
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0].split("\t")
    out = []
    for line in lines[1:]:
        cells = dict(zip(header, line.split("\t"), strict=False))
        try:
            src = int(cells["tcp.srcport"])
            dst = int(cells["tcp.dstport"])
            flags = frozenset(
                name
                for name, key in (
                    ("SYN", "tcp.flags.syn"),
                    ("ACK", "tcp.flags.ack"),
                    ("FIN", "tcp.flags.fin"),
                    ("RST", "tcp.flags.reset"),
                )
                if cells.get(key) in ("1", "True")
            )
            segment = Segment(
                frame=int(cells["frame.number"]),
                t=float(cells["frame.time_epoch"]),
                stream=int(cells["tcp.stream"]),
                from_client=dst == server_port and src != server_port,
                seq=int(cells["tcp.seq"] or 0),
                flags=flags,
                payload=bytes.fromhex(cells.get("tcp.payload", "").replace(":", "")),
            )
        except (KeyError, ValueError):
            continue  # a row tshark could not fill (a truncated last packet)
        if server_port in (src, dst):
            out.append(segment)
    return out


_FRAME_LINE = re.compile(r"^\s*(\d+)\s*$")
_BLOCK_LINE = re.compile(r"^(.+) \((\d+) bytes\):$")
_HEX_LINE = re.compile(r"^[0-9a-f]{4,}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})")


def parse_decrypted(text: str) -> dict[int, tuple[bytes, ...]]:
    """`tshark -P -x` output with the frame number as the only column -> frame ->
    the plaintexts of its "Decrypted TLS" blocks, in the order tshark printed them."""
    out: dict[int, list[bytes]] = {}
    frame: int | None = None
    block: bytearray | None = None
    for line in text.splitlines():
        m = _FRAME_LINE.match(line)
        if m:
            frame, block = int(m.group(1)), None
            continue
        m = _BLOCK_LINE.match(line)
        if m:
            block = None
            if m.group(1) == "Decrypted TLS" and frame is not None:
                block = bytearray()
                out.setdefault(frame, []).append(block)  # type: ignore[arg-type]
            continue
        m = _HEX_LINE.match(line)
        if m and block is not None:
            block.extend(bytes.fromhex(m.group(1).replace(" ", "")))
        elif not line.strip():
            block = None
    return {f: tuple(bytes(b) for b in blocks) for f, blocks in out.items()}


def build_recording(
    segments: Iterable[Segment], decrypted: Mapping[int, tuple[bytes, ...]] | None = None
) -> WireRecording:
    """Segments of the server's port -> the connections, each with the client's records."""
    by_stream: dict[int, list[Segment]] = {}
    for s in segments:
        by_stream.setdefault(s.stream, []).append(s)
    connections, empty = [], []
    for stream, segs in sorted(by_stream.items()):
        client = [s for s in segs if s.from_client]
        data, chunks = _reassemble(client)
        if not data:
            empty.append(stream)
            continue
        records, trailing = split_records(data)
        records, complete = _attach_plaintexts(records, chunks, decrypted)
        connections.append(
            Connection(
                stream=stream,
                records=tuple(records),
                flags=_flags(segs),
                trailing=trailing,
                decrypted=complete,
            )
        )
    return WireRecording(tuple(connections), tuple(empty))


def _reassemble(client: list[Segment]) -> tuple[bytes, list[tuple[int, int]]]:
    """The client's byte stream (payloads in sequence order, overlaps counted once),
    and for each piece the stream offset it ends at and the frame that brought it."""
    out = bytearray()
    chunks: list[tuple[int, int]] = []
    base: int | None = None
    for s in sorted((s for s in client if s.payload), key=lambda s: (s.seq, s.frame)):
        if base is None:
            base = s.seq
        offset = s.seq - base
        if offset + len(s.payload) <= len(out):
            continue  # a retransmission of bytes already there
        if offset > len(out):
            break  # a hole: bytes the capture lost; what follows cannot be placed
        out.extend(s.payload[len(out) - offset :])
        chunks.append((len(out), s.frame))
    return bytes(out), chunks


def split_records(data: bytes) -> tuple[list[TlsRecord], bytes]:
    """Cut a client byte stream into TLS records; what is left is not a whole record."""
    records, pos, encrypted = [], 0, False
    while len(data) - pos >= RECORD_HEADER:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        end = pos + RECORD_HEADER + length
        if end > len(data):
            break
        content_type = data[pos]
        encrypted = encrypted or content_type == CONTENT_APPLICATION_DATA
        records.append(
            TlsRecord(
                index=len(records),
                content_type=content_type,
                version=int.from_bytes(data[pos + 1 : pos + 3], "big"),
                body=data[pos + RECORD_HEADER : end],
                encrypted=encrypted,
            )
        )
        # Everything after the client's ChangeCipherSpec is sealed (TLS 1.0-1.2, and
        # TLS 1.3's compatibility mode); application data always is.
        encrypted = encrypted or content_type == CONTENT_CHANGE_CIPHER_SPEC
        pos = end
    return records, data[pos:]


def _attach_plaintexts(
    records: list[TlsRecord],
    chunks: list[tuple[int, int]],
    decrypted: Mapping[int, tuple[bytes, ...]] | None,
) -> tuple[list[TlsRecord], bool]:
    """Give sealed records the plaintexts tshark decrypted; True when every one got its.

    tshark prints a record's plaintext with the frame that completed the record. When
    the blocks and the sealed records are as many, they pair in stream order. When not
    (tshark prints one block for two application-data records of one frame, as with
    BearSSL's 1/n-1 split under TLS 1.0), each frame whose blocks and records are as
    many still pairs; the others stay without plaintext.
    """
    sealed = [r for r in records if r.encrypted]
    if not sealed:
        return records, True
    if decrypted is None:
        return records, False
    ends = _record_frames(records, chunks)
    frames = [f for _, f in chunks]
    blocks = [b for f in dict.fromkeys(frames) for b in decrypted.get(f, ())]
    plain: dict[int, bytes] = {}
    if len(blocks) == len(sealed):
        plain = {r.index: b for r, b in zip(sealed, blocks, strict=True)}
    else:
        by_frame: dict[int, list[TlsRecord]] = {}
        for r in sealed:
            by_frame.setdefault(ends[r.index], []).append(r)
        for frame, group in by_frame.items():
            found = decrypted.get(frame, ())
            if len(found) == len(group):
                plain.update({r.index: b for r, b in zip(group, found, strict=True)})
    out = [replace(r, plaintext=plain[r.index]) if r.index in plain else r for r in records]
    return out, len(plain) == len(sealed)


def _record_frames(records: list[TlsRecord], chunks: list[tuple[int, int]]) -> dict[int, int]:
    """Record index -> the frame that brought its last byte."""
    out, end, k = {}, 0, 0
    for r in records:
        end += RECORD_HEADER + len(r.body)
        while k < len(chunks) and chunks[k][0] < end:
            k += 1
        out[r.index] = chunks[k][1] if k < len(chunks) else -1
    return out


def _flags(segs: list[Segment]) -> tuple[tuple[str, str], ...]:
    """SYN, SYN-ACK, FIN and RST with who sent them; a repeat of the same is one entry
    (how many RSTs answer late data depends on timing, not on the stack)."""
    out: list[tuple[str, str]] = []
    for s in segs:
        who = "client" if s.from_client else "server"
        for flag in _flag_names(s.flags):
            entry = (who, flag)
            if not out or out[-1] != entry:
                out.append(entry)
    return tuple(out)


def _flag_names(flags: frozenset[str]) -> list[str]:
    names = []
    if "SYN" in flags:
        names.append("SYN-ACK" if "ACK" in flags else "SYN")
    if "FIN" in flags:
        names.append("FIN")
    if "RST" in flags:
        names.append("RST")
    return names
