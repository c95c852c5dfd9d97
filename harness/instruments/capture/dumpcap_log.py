"""What dumpcap says on stderr, read for the errors and the result: the tail worth
showing, the fix a refusal calls for, and its received/dropped counts."""

from __future__ import annotations

import re
from pathlib import Path

PRIVILEGE_FIX = (
    "dumpcap needs capture rights: run as root, or add the user to the wireshark group "
    "(dpkg-reconfigure wireshark-common; usermod -a -G wireshark USER; log in again), or "
    "setcap cap_net_raw,cap_net_admin+eip /usr/bin/dumpcap"
)
_DROPPED_RE = re.compile(r"Packets received/dropped on interface .*?: (\d+)/(\d+)")
# dumpcap's breakdown of that total: "(pcap:0/dumpcap:0/flushed:1/ps_ifdrop:0)".
_FLUSHED_RE = re.compile(r"Packets received/dropped on interface .*?: \d+/\d+ \(.*?flushed:(\d+)")


def log_tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    text = path.read_text(errors="replace").replace("\r", "\n")
    kept = [line for line in text.splitlines() if line.strip() and not line.startswith("Packets:")]
    return "\n".join(kept[-lines:])


def fix_for(tail: str, interface: str, user: str | None = None) -> str:
    low = tail.lower()
    if "permission" in low or "operation not permitted" in low:
        who = f" (dumpcap ran as {user!r})" if user else ""
        return PRIVILEGE_FIX + who
    if "no device named" in low or "no such device" in low:
        return (
            f"use an interface that exists ('{interface}' does not; `dumpcap -D` lists them, "
            "the twin's traffic crosses 'lo')"
        )
    if "capture filter" in low:
        return "fix the capture filter (pcap-filter syntax); bpf_for_port(port) makes one"
    return PRIVILEGE_FIX


def counts(path: Path) -> tuple[int | None, int | None, int]:
    """dumpcap's exit summary: packets received, packets lost, packets flushed.

    dumpcap's "dropped" total includes `flushed`: packets that reached it after it was
    told to stop, which it counts and does not write. The stop is asked for only once
    the stop marker is in the file, and the filler datagrams keep coming until then, so
    a flushed packet came after the marker: the harness's own filler, never a packet of
    the run (the marker proves those were written). Lost = the total less `flushed`:
    the kernel's, dumpcap's and the interface's drops.
    """
    if not path.exists():
        return None, None, 0
    text = path.read_text(errors="replace")
    found = _DROPPED_RE.findall(text)
    if not found:
        return None, None, 0
    received, dropped = found[-1]
    flushed_found = _FLUSHED_RE.findall(text)
    flushed = int(flushed_found[-1]) if flushed_found else 0
    return int(received), int(dropped) - flushed, flushed
