"""Reading captures with tshark (layer 3 adapter): field text out, events via harness.wire.

One tshark run per capture (a start costs ~0.25 s): `read_fields` prints the
requested fields as tab-separated text, `analyze_capture` hands that text to the
pure decoder. A capture cut short (dumpcap killed, disk full) is read as far as it
goes and marked partial; a missing or non-capture file is a CaptureError naming it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness import procs, wire
from harness.errors import CaptureError

if TYPE_CHECKING:
    import pyshark

log = logging.getLogger(__name__)

# tshark's words for a file that ends in the middle of a packet or block.
_PARTIAL_MARKERS = ("appears to have been cut short", "appears to be damaged or corrupt")
_NOT_A_CAPTURE = (
    "isn't a capture file in a format tshark understands",
    "unknown file format",
    "isn't a capture file",
)
_CAPTURE_MAGICS = frozenset(
    bytes.fromhex(h) for h in ("0a0d0d0a", "a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1")
)
# stderr chatter that says nothing about the capture.
_NOISE = ('Running as user "root"',)
_DIAGNOSTIC_PREFIXES = ("tshark:", "** (tshark", "(tshark:")


@dataclass(frozen=True)
class FieldsResult:
    text: str  # header line + one tab-separated row per displayed frame
    partial: bool  # the file ended early; `text` holds what could be read
    warnings: tuple[str, ...] = ()


def read_fields(
    pcap: Path,
    *,
    keylog: Path | None,
    fields: Sequence[str],
    display_filter: str,
    log_path: Path | None,
    timeout: float,
    tls_ports: Sequence[int] = (),
) -> FieldsResult:
    """Run tshark once over `pcap` and return the fields as text (see module doc)."""
    pcap = Path(pcap)
    if not fields:
        raise CaptureError(f"read_fields({pcap}): no fields asked for", fix="pass FIELDS")
    if not pcap.is_file():
        raise CaptureError(
            f"capture file {pcap} does not exist",
            seen="no such file" if not pcap.exists() else "not a regular file",
            fix="check the run directory; the capture may not have been started",
            log=log_path,
        )
    _check_magic(pcap, log_path)
    tshark = procs.which("tshark", package="tshark")
    # -l flushes stdout per packet, so stderr lines (merged into the same pipe by
    # procs.run) land between rows, never inside one.
    cmd = [tshark, "-n", "-l", "-r", str(pcap)]
    if keylog is not None:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    for port in tls_ports:
        cmd += ["-d", f"tcp.port=={int(port)},tls"]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += ["-T", "fields", "-E", "header=y", "-E", "separator=/t"]
    cmd += ["-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        cmd += ["-e", name]
    result = procs.run(cmd, timeout=timeout, log_path=log_path)
    rows, diagnostics = _split_output(result.output, len(fields))
    low = "\n".join(diagnostics).lower()
    if any(marker.lower() in low for marker in _NOT_A_CAPTURE):
        raise CaptureError(
            f"{pcap} is not a capture file tshark can read",
            seen="\n".join(diagnostics[-5:]),
            fix="point at the .pcapng the capture wrote",
            log=log_path,
        )
    partial = any(marker in low for marker in _PARTIAL_MARKERS)
    if result.returncode != 0 and not partial:
        raise CaptureError(
            f"tshark could not read {pcap} (exit {result.returncode})",
            seen="\n".join(diagnostics[-8:]) or result.output[-800:],
            fix="check the display filter, the field names and the file; see the log",
            log=log_path,
        )
    if partial:
        log.warning("capture %s was cut short; decoded what was there", pcap)
    return FieldsResult(text="\n".join(rows) + "\n", partial=partial, warnings=tuple(diagnostics))


def _check_magic(pcap: Path, log_path: Path | None) -> None:
    # tshark guesses among dozens of formats and "reads" plain text as packets,
    # so anything that is not pcap or pcapng is refused here.
    with pcap.open("rb") as f:
        head = f.read(4)
    if head not in _CAPTURE_MAGICS:
        raise CaptureError(
            f"{pcap} is not a pcap or pcapng file",
            seen=f"{pcap.stat().st_size} bytes, starting with {head!r}",
            fix="point at the .pcapng the capture wrote; an empty file means dumpcap "
            "never started writing",
            log=log_path,
        )


def _split_output(output: str, n_fields: int) -> tuple[list[str], list[str]]:
    """Separate tshark's rows from its stderr lines (procs.run merges the two)."""
    rows: list[str] = []
    diagnostics: list[str] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        if any(line.startswith(noise) for noise in _NOISE):
            continue
        if line.startswith(_DIAGNOSTIC_PREFIXES) or line.count("\t") != n_fields - 1:
            diagnostics.append(line)
            continue
        rows.append(line)
    return rows, diagnostics


def analyze_capture(
    pcap: Path,
    keylog: Path | None,
    server_port: int,
    *,
    log_path: Path | None = None,
    timeout: float = 120.0,
) -> wire.WireAnalysis:
    """tshark once over the capture, then the pure decoder: the run's wire events."""
    fields = read_fields(
        pcap,
        keylog=keylog,
        fields=wire.FIELDS,
        display_filter=f"tcp.port == {int(server_port)}",
        log_path=log_path,
        timeout=timeout,
        tls_ports=(server_port,),
    )
    decoded = wire.decode(fields.text, server_port)
    return dataclasses.replace(
        decoded, partial=fields.partial, warnings=fields.warnings + decoded.warnings
    )


def open_filecapture(
    pcap: Path,
    keylog: Path | None,
    *,
    server_port: int | None = None,
    display_filter: str | None = None,
) -> pyshark.FileCapture:
    """A pyshark FileCapture with the keylog and TLS decoding on the server port.

    For tests that want their own packet assertions. pyshark runs its own tshark
    and does not work inside a running asyncio loop or a worker thread; close it.
    """
    import pyshark  # a heavy import, needed only by tests that ask for packets

    pcap = Path(pcap)
    if not pcap.is_file():
        raise CaptureError(
            f"capture file {pcap} does not exist",
            fix="check the run directory; the capture may not have been started",
        )
    prefs = {"tls.keylog_file": str(keylog)} if keylog is not None else None
    decode_as = {f"tcp.port=={int(server_port)}": "tls"} if server_port is not None else None
    return pyshark.FileCapture(
        str(pcap),
        display_filter=display_filter,
        override_prefs=prefs,
        decode_as=decode_as,
        keep_packets=True,
    )
