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


def counts(path: Path) -> tuple[int | None, int | None]:
    if not path.exists():
        return None, None
    found = _DROPPED_RE.findall(path.read_text(errors="replace"))
    if not found:
        return None, None
    received, dropped = found[-1]
    return int(received), int(dropped)
