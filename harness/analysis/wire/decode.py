"""tshark field text -> wire events (layer 2: pure, no processes, no files).

Input is what `tshark -T fields -E header=y -E separator=/t -E occurrence=a
-E aggregator=,` prints for `FIELDS`: one row per frame, multi-valued fields joined
by commas. A frame can hold several TLS records and a record several handshake
messages (ServerHello+Certificate+ServerKeyExchange+ServerHelloDone in one record
is OpenSSL's habit); each message and each alert gives its own event, in wire order.

tshark flattens the per-record and per-message fields into separate lists, so they
are put back together by length:
- messages to records: a handshake record of length L holds messages whose 4-byte
  header plus body add up to L. A record with no message left for it is an
  encrypted handshake record tshark could not decrypt (`encrypted_handshake`); a
  TLS 1.3 record it could not decrypt has no visible type at all (`encrypted_record`).
- extensions to messages: each extensions block has a total length
  (`tls.handshake.extensions_length`) that its extensions' 4-byte headers and bodies
  add up to. The first block belongs to the frame's first message when that is a
  ClientHello or ServerHello (nothing precedes them in their flight); later blocks
  (TLS 1.3 EncryptedExtensions, certificate entries, tickets) are not reported,
  except that a max_fragment_length the server sends back (in EncryptedExtensions
  for TLS 1.3) is put on its ServerHello.

Certificates are decoded from their DER bytes (`tls.handshake.certificate`), not
from tshark's x509 fields: those flatten the whole chain into one list per field,
and a notAfter written as GeneralizedTime (after 2049) lands in another field than
one written as UTCTime, so which date belongs to which certificate is lost.

Retransmitted frames give a `tcp_retransmission` event and no TLS events: what
they carry was decoded when it first passed (a retransmitted SYN or FIN still gives
`tcp_syn`/`tcp_fin`, flagged `retransmission`).

Never raises on its input: a row that cannot be decoded is skipped and named in
`warnings`. Rows that are not TCP (the capture's UDP marker datagrams) or not on
the server port are ignored without a warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.analysis.wire.certificates import describe_certificate
from harness.analysis.wire.results import WireAnalysis
from harness.analysis.wire.tables import (
    _HS_CERTIFICATE,
    _HS_CERTIFICATE_REQUEST,
    _HS_CERTIFICATE_VERIFY,
    _HS_CLIENT_HELLO,
    _HS_SERVER_HELLO,
    _HS_SERVER_KEY_EXCHANGE,
    _SEALED_OVERHEAD,
    CONTENT_ALERT,
    CONTENT_APPLICATION_DATA,
    CONTENT_CHANGE_CIPHER_SPEC,
    CONTENT_HANDSHAKE,
    FIELDS,
    HANDSHAKE_KINDS,
    MAX_FRAGMENT_BYTES,
    alert_name,
    group_name,
)
from harness.model import Direction, Event, Source

# -- decoding ----------------------------------------------------------------------------


class _RowError(ValueError):
    pass


# FIELDS is TCP first, TLS after: a row splits once into its TCP cells and its TLS
# tail, and the tail (equal on every connection of one client to one server) is
# decoded once and reused.
_N_TCP = FIELDS.index("tls.record.content_type")
_N_TLS = len(FIELDS) - _N_TCP
_EMPTY_TLS = "\t" * (_N_TLS - 1)
_COL = {name: i for i, name in enumerate(FIELDS)}
_STREAM, _SRC_PORT, _DST_PORT = _COL["tcp.stream"], _COL["tcp.srcport"], _COL["tcp.dstport"]
_FLAG_COLS = tuple(
    _COL[name]
    for name in (
        "tcp.flags.syn",
        "tcp.flags.fin",
        "tcp.flags.reset",
        "tcp.analysis.retransmission",
        "tcp.analysis.zero_window",
    )
)
# Distinct TLS tails remembered; a capture with more shapes than this decodes the rest
# without the cache, no differently.
_TEMPLATE_LIMIT = 4096

# kind, fields, summary: an event without its frame.
_Template = tuple[str, dict[str, Any], str]


def decode(text: str, server_port: int) -> WireAnalysis:
    """Decode tshark field text (with or without its header line) into wire events."""
    if not isinstance(text, str):
        return WireAnalysis((), False, (f"expected text, got {type(text).__name__}",))
    decoder = Decoder(server_port)
    decoder.feed(text.splitlines())
    return decoder.result()


class Decoder:
    """The decoder fed line by line, so rows are decoded while tshark still prints.

    The first line fed may be tshark's header (it names the columns, in any order);
    without one the columns are `FIELDS` in order. `result()` may be called at any
    time. Events of identical rows share their nested field values (suite lists,
    the certificate chain): treat event fields as read-only.
    """

    def __init__(self, server_port: int) -> None:
        self.port = server_port
        self._port_text = str(server_port)
        self.events: list[Event] = []
        self.warnings: list[str] = []
        self.lines = 0
        self._columns: Sequence[str] | None = None
        self._reorder: list[int] | None = None  # header order -> FIELDS order
        self._attempt_of: dict[int, int] = {}
        self._templates: dict[str, list[_Template]] = {}
        self._chains: dict[str, list[dict[str, Any]]] = {}

    def result(self, *, partial: bool = False) -> WireAnalysis:
        return WireAnalysis(tuple(self.events), partial, tuple(self.warnings))

    def feed(self, lines: Iterable[str]) -> None:
        lines = iter(lines)
        if self._columns is None:
            for line in lines:
                self.lines += 1
                names = line.split("\t")
                if "frame.number" in names:
                    self._set_columns(names)
                else:
                    self._set_columns(FIELDS)
                    self._line(line)
                break
        for line in lines:
            self.lines += 1
            self._line(line)

    def _set_columns(self, names: Sequence[str]) -> None:
        self._columns = tuple(names)
        if self._columns != FIELDS:
            # A field the text lacks reads as the "" appended to every row.
            given = {name: i for i, name in enumerate(names)}
            self._reorder = [given.get(name, len(names)) for name in FIELDS]

    def _line(self, line: str) -> None:
        if self._reorder is None:
            cells = line.split("\t", _N_TCP)
            if len(cells) != _N_TCP + 1 or cells[_N_TCP].count("\t") != _N_TLS - 1:
                self._bad_width(line, len(FIELDS))
                return
        else:
            values = line.split("\t")
            if len(values) != len(self._columns or ()):
                self._bad_width(line, len(self._columns or ()))
                return
            values.append("")
            ordered = [values[i] for i in self._reorder]
            cells = [*ordered[:_N_TCP], "\t".join(ordered[_N_TCP:])]
        if not cells[_STREAM]:
            return  # not TCP: the capture's marker datagrams, or unrelated traffic
        src, dst, port = cells[_SRC_PORT], cells[_DST_PORT], self._port_text
        if src != port and dst != port and src.isdigit() and dst.isdigit():
            return
        tail = cells[_N_TCP]
        if tail == _EMPTY_TLS and all(cells[i] in ("", "0") for i in _FLAG_COLS):
            return  # a bare ACK, or a segment of a TLS record not complete yet
        try:
            self._row(cells, tail)
        except (ValueError, OverflowError) as exc:
            self.warnings.append(f"line {self.lines}: {exc}: {line[:80]!r}")

    def _bad_width(self, line: str, expected: int) -> None:
        if line.strip():
            self.warnings.append(
                f"line {self.lines}: {line.count(chr(9)) + 1} columns, expected {expected}: "
                f"{line[:80]!r}"
            )

    def _row(self, cells: list[str], tail: str) -> None:
        retransmission = _flag(cells[_COL["tcp.analysis.retransmission"]])
        syn = _flag(cells[_COL["tcp.flags.syn"]])
        fin = _flag(cells[_COL["tcp.flags.fin"]])
        rst = _flag(cells[_COL["tcp.flags.reset"]])
        zero_window = _flag(cells[_COL["tcp.analysis.zero_window"]])
        tls = not retransmission and tail != _EMPTY_TLS
        if not (retransmission or syn or fin or rst or zero_window or tls):
            return
        stream = _int(cells[_STREAM])
        if stream is None:
            return
        t = float(cells[_COL["frame.time_epoch"]] or "nan")
        if not math.isfinite(t):
            raise _RowError("no usable frame.time_epoch")
        src_port, dst_port = _int(cells[_SRC_PORT]), _int(cells[_DST_PORT])
        if dst_port == self.port:
            direction = Direction.C2S
        elif src_port == self.port:
            direction = Direction.S2C
        else:
            return
        # Decoded before any event of the row is added: a bad TLS cell drops the row whole.
        templates = self._tls_templates(cells, tail) if tls else []
        attempt = self._attempt_of.setdefault(stream, len(self._attempt_of))
        frame = _Frame(
            t=t,
            stream=stream,
            attempt=attempt,
            direction=direction,
            src=f"{cells[_COL['ip.src']]}:{src_port}",
            dst=f"{cells[_COL['ip.dst']]}:{dst_port}",
            number=_int(cells[_COL["frame.number"]]),
        )
        out = self.events
        if retransmission:
            length = _int(cells[_COL["tcp.len"]])
            out.append(
                frame.event(
                    "tcp_retransmission",
                    {
                        "seq": _int(cells[_COL["tcp.seq"]]),
                        "length": length,
                        "syn": syn,
                        "fin": fin,
                        "rst": rst,
                    },
                    f"retransmission of {length or 0} B",
                )
            )
        if syn:
            kind = "tcp_synack" if _flag(cells[_COL["tcp.flags.ack"]]) else "tcp_syn"
            out.append(frame.event(kind, {"retransmission": retransmission}))
        if zero_window:
            window = _int(cells[_COL["tcp.window_size"]])
            out.append(frame.event("tcp_zero_window", {"window": window}, "zero window"))
        for kind, fields, summary in templates:
            out.append(frame.event(kind, fields, summary))
        # Data carried with FIN or RST was sent before them.
        if fin:
            out.append(frame.event("tcp_fin", {"retransmission": retransmission}))
        if rst:
            out.append(frame.event("tcp_rst", {}))

    # -- TLS -----------------------------------------------------------------------------

    def _tls_templates(self, cells: list[str], tail: str) -> list[_Template]:
        found = self._templates.get(tail)
        if found is None:
            found = self._tls(_Row([*cells[:_N_TCP], *tail.split("\t")]))
            if len(self._templates) < _TEMPLATE_LIMIT:
                self._templates[tail] = found
        return found

    def _tls(self, row: _Row) -> list[_Template]:
        content_types = row.ints("tls.record.content_type")
        record_lengths = row.ints("tls.record.length")
        record_versions = row.ints("tls.record.version")
        hs_types = row.ints("tls.handshake.type")
        hs_lengths = row.ints("tls.handshake.length")
        levels = row.ints("tls.alert_message.level")
        descriptions = row.ints("tls.alert_message.desc")
        messages = [
            (kind, hs_lengths[i] if i < len(hs_lengths) else None)
            for i, kind in enumerate(hs_types)
        ]
        alerts = [
            (levels[i] if i < len(levels) else None, desc) for i, desc in enumerate(descriptions)
        ]
        row.hs_types = hs_types
        reassembled = bool(row.get("tls.handshake.reassembled_in"))
        out: list[_Template] = []
        carry = 0
        next_message = 0
        next_alert = 0
        # A TLS 1.3 record tshark could not decrypt has an opaque type but no content
        # type; those come after the plaintext ones in a frame (RFC 8446 5.1, D.4).
        n_records = max(len(content_types), len(record_lengths), len(record_versions))
        # Sealed (TLS 1.3) records have an opaque type; in a frame they follow the
        # plaintext ones, as encryption never stops once started in a direction.
        first_sealed = n_records - len(row.ints("tls.record.opaque_type"))
        for index in range(n_records):
            length = record_lengths[index] if index < len(record_lengths) else None
            version = record_versions[index] if index < len(record_versions) else None
            content_type = content_types[index] if index < len(content_types) else None
            if content_type is None:
                out.append(
                    (
                        "encrypted_record",
                        {"length": length, "record_length": length},
                        f"encrypted {length} B",
                    )
                )
            elif content_type == CONTENT_HANDSHAKE:
                # A message longer than the rest of its record goes on in the next ones
                # (max_fragment_length makes that common): `carry` bytes of it are left.
                started, continued = 0, carry > 0
                if length is not None:
                    # A decrypted TLS 1.3 record's length counts its inner type byte and
                    # the 16-byte AEAD tag too (RFC 8446 5.2).
                    space = max(length - (_SEALED_OVERHEAD if index >= first_sealed else 0), 0)
                elif next_message < len(messages):  # length unknown: one message
                    space = 4 + max(messages[next_message][1] or 0, 0)
                else:
                    space = 0
                used = min(carry, space)
                carry, space = carry - used, space - used
                while space > 0 and next_message < len(messages):
                    kind, body = messages[next_message]
                    out.append(self._handshake(kind, row, version, length))
                    next_message += 1
                    started += 1
                    size = 4 + (body or 0)
                    carry, space = max(size - space, 0), max(space - size, 0)
                if not (started or continued):
                    # tshark holds a message's first fragments until its last one arrives
                    # (in a later frame); otherwise it could not decrypt the record.
                    kind = "handshake_fragment" if reassembled else "encrypted_handshake"
                    out.append((kind, {"length": length, "record_length": length}, ""))
            elif content_type == CONTENT_CHANGE_CIPHER_SPEC:
                out.append(("change_cipher_spec", {"record_length": length}, ""))
            elif content_type == CONTENT_ALERT:
                level, description = (None, None)
                if next_alert < len(alerts):
                    level, description = alerts[next_alert]
                    next_alert += 1
                out.append(_alert(level, description, length))
            elif content_type == CONTENT_APPLICATION_DATA:
                fields = {"length": length, "record_length": length}
                out.append(("app_data", fields, f"app_data {length} B"))
            else:
                fields = {"content_type": content_type, "record_length": length}
                out.append(("tls_record", fields, ""))
        # Messages or alerts tshark listed without a record to put them in (reassembly
        # across records or segments): still facts, in the order seen.
        for kind, _ in messages[next_message:]:
            out.append(self._handshake(kind, row, None, None))
        for level, description in alerts[next_alert:]:
            out.append(_alert(level, description, None))
        return out

    def _handshake(
        self, hs_type: int, row: _Row, record_version: int | None, record_length: int | None
    ) -> _Template:
        kind = HANDSHAKE_KINDS.get(hs_type, "handshake")
        base: dict[str, Any] = {"record_length": record_length}
        if hs_type == _HS_CLIENT_HELLO:
            return _client_hello(row, record_version, base)
        if hs_type == _HS_SERVER_HELLO:
            return _server_hello(row, record_version, base)
        if hs_type == _HS_CERTIFICATE:
            chain = self._chain(row.get("tls.handshake.certificate"))
            base["chain"] = chain
            subject = chain[0].get("subject") if chain else None
            return kind, base, f"Certificate {len(chain)} cert(s) {subject or ''}".rstrip()
        if hs_type == _HS_SERVER_KEY_EXCHANGE:
            curve = _int(row.get("tls.handshake.server_named_curve"))
            p_length = _int(row.get("tls.handshake.p_len"))
            base.update(
                curve=curve,
                curve_name=group_name(curve),
                dh_p_length=p_length,
                dh_bits=p_length * 8 if p_length is not None else None,
                signature_algorithm=row.signature_algorithm(),
            )
            what = group_name(curve) or (f"DH {p_length * 8} bit" if p_length else "?")
            return kind, base, f"ServerKeyExchange {what}"
        if hs_type == _HS_CERTIFICATE_VERIFY:
            base["signature_algorithm"] = row.signature_algorithm()
            return kind, base, ""
        if kind == "handshake":
            base["type"] = hs_type
            return kind, base, f"handshake type {hs_type}"
        return kind, base, ""

    def _chain(self, value: str) -> list[dict[str, Any]]:
        if not value:
            return []
        found = self._chains.get(value)
        if found is None:
            found = [describe_certificate(h) for h in value.split(",") if h]
            self._chains[value] = found
        return found


class _Row:
    """One row's cells in FIELDS order, by field name."""

    __slots__ = ("_values", "hs_types")

    def __init__(self, values: list[str]) -> None:
        self._values = values
        self.hs_types: list[int] = []

    def get(self, name: str) -> str:
        return self._values[_COL[name]]

    def ints(self, name: str) -> list[int]:
        return _ints(self._values[_COL[name]])

    def first_extensions(self) -> list[int] | None:
        """The extension types of the frame's first extensions block (see module doc)."""
        types = self.ints("tls.handshake.extension.type")
        lengths = self.ints("tls.handshake.extension.len")
        totals = self.ints("tls.handshake.extensions_length")
        if not totals or len(lengths) != len(types):
            return types or None  # hand-made text without lengths: all of them
        used, taken = 0, 0
        while taken < len(types) and used < totals[0]:
            used += 4 + lengths[taken]
            taken += 1
        return types[:taken]

    def signature_algorithm(self) -> int | None:
        # A CertificateRequest lists many; without one, the row's one value is the
        # ServerKeyExchange's or CertificateVerify's.
        if _HS_CERTIFICATE_REQUEST in self.hs_types:
            return None
        algs = self.ints("tls.handshake.sig_hash_alg")
        return algs[0] if len(algs) == 1 else None


def _client_hello(row: _Row, record_version: int | None, base: dict[str, Any]) -> _Template:
    suites = row.ints("tls.handshake.ciphersuite")
    sni = row.get("tls.handshake.extensions_server_name").split(",")[0] or None
    mfln = _int(row.get("tls.handshake.max_fragment_length"))
    base.update(
        version=_int(row.get("tls.handshake.version")),
        record_version=record_version,
        suites=suites,
        sni=sni,
        extensions=row.first_extensions() or [],
        max_fragment_length=MAX_FRAGMENT_BYTES.get(mfln) if mfln is not None else None,
        max_fragment_length_code=mfln,
        supported_groups=row.ints("tls.handshake.extensions_supported_group"),
        ec_point_formats=row.ints("tls.handshake.extensions_ec_point_format"),
        signature_algorithms=row.ints("tls.handshake.sig_hash_alg"),
        supported_versions=row.ints("tls.handshake.extensions.supported_version"),
    )
    mfln_text = f" mfl={base['max_fragment_length']}" if mfln is not None else ""
    return "client_hello", base, f"ClientHello {len(suites)} suites sni={sni or '-'}{mfln_text}"


def _server_hello(row: _Row, record_version: int | None, base: dict[str, Any]) -> _Template:
    version = _int(row.get("tls.handshake.version"))
    selected = _int(row.get("tls.handshake.extensions.supported_version"))
    suite = _int(row.get("tls.handshake.ciphersuite"))
    mfln = _int(row.get("tls.handshake.max_fragment_length"))
    base.update(
        version=version,
        record_version=record_version,
        selected_version=selected if selected is not None else version,
        suite=suite,
        extensions=row.first_extensions() or [],
        max_fragment_length=MAX_FRAGMENT_BYTES.get(mfln) if mfln is not None else None,
        max_fragment_length_code=mfln,
        ec_point_formats=row.ints("tls.handshake.extensions_ec_point_format"),
    )
    suite_text = f"0x{suite:04x}" if suite is not None else "-"
    return "server_hello", base, f"ServerHello suite={suite_text}"


def _alert(level: int | None, description: int | None, record_length: int | None) -> _Template:
    # A plaintext alert record is exactly 2 bytes; anything longer went through a cipher.
    encrypted = record_length != 2 if record_length is not None else description is None
    name = alert_name(description)
    fields = {
        "level": level,
        "description": description,
        "name": name,
        "encrypted": encrypted,
        "record_length": record_length,
    }
    level_text = {1: "warning", 2: "fatal"}.get(level or 0, "?")
    return "alert", fields, f"alert {level_text} {name}"


class _Frame:
    """What every event of one frame shares (a plain class: one is made per frame)."""

    __slots__ = ("_base", "_prefix", "direction", "stream", "t")

    def __init__(
        self,
        t: float,
        stream: int,
        attempt: int,
        direction: Direction,
        src: str,
        dst: str,
        number: int | None,
    ) -> None:
        self.t = t
        self.stream = stream
        self.direction = direction
        arrow = "C->S" if direction is Direction.C2S else "S->C"
        self._prefix = f"#{number} {arrow} stream {stream} "
        self._base = {"frame": number, "src": src, "dst": dst, "attempt": attempt}

    def event(self, kind: str, fields: Mapping[str, Any], summary: str = "") -> Event:
        return Event(
            t=self.t,
            source=Source.WIRE,
            kind=kind,
            direction=self.direction,
            fields={**self._base, **fields},
            text=self._prefix + (summary or kind),
            stream=self.stream,
        )


# -- cells -------------------------------------------------------------------------------


def _ints(value: str | None) -> list[int]:
    if not value:
        return []
    parts = value.split(",")
    try:
        if value.startswith("0x"):  # versions, suites, signature schemes
            return [int(v, 16) for v in parts]
        return [int(v) for v in parts]
    except ValueError:
        return [int(v, 0) for v in parts if v.strip()]  # mixed or bad: the slow, strict way


def _int(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    found = _ints(value)
    return found[0] if found else None


def _flag(value: str | None) -> bool:
    if not value or value == "0":
        return False
    return value == "1" or value.strip().lower() in ("1", "true")
