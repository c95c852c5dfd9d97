"""Names made safe as one path component (run folders, remembered ports)."""

from __future__ import annotations

import re


def safe_name(name: str) -> str:
    """`name` as one path component: letters, digits, '.', '-', '_'; never '.' or '..'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("._") or "run"
    return cleaned[-120:]
