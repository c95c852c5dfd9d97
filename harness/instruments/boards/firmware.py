"""The build id a firmware carries: our sketches print `HIL:BOOT build=<id>` from one
string literal, so the id is in the binary as it is on the serial line."""

from __future__ import annotations

import re
from pathlib import Path

from harness.model.errors import ConfigError

BOOT_LINE = re.compile(rb"HIL:BOOT build=([0-9A-Za-z._-]{1,64})")


def build_id_in(data: bytes) -> str | None:
    m = BOOT_LINE.search(data)
    return m.group(1).decode() if m else None


def firmware_build_id(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"firmware {path} does not exist", fix="give the .bin PlatformIO built")
    found = build_id_in(path.read_bytes())
    if found is None:
        raise ConfigError(
            f"firmware {path} carries no 'HIL:BOOT build=' string",
            fix="flash a sketch that prints HIL:BOOT build=<id> at start (see sketches/)",
        )
    return found
