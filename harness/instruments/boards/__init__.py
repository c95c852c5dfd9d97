"""Boards: the registry of board models, made from the core release data
(harness/model/cores/*.toml), and the implementations of each kind.

One twin board per core release, named `twin-<family>-<version>`, plus the aliases a
release declares (e.g. `twin-esp8266-axtls` = ESP8266 core 2.4.1). Nothing here lists
boards by hand: a new release file is a new board.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from harness.instruments.boards.base import Board, BoardSpec
from harness.instruments.boards.twin import TwinBoard
from harness.model.cores import CoreRelease, releases
from harness.model.errors import ConfigError

STACK_TITLES = {"axtls": "axTLS", "bearssl": "BearSSL", "mbedtls": "mbedTLS"}
FAMILY_TITLES = {"esp8266": "ESP8266 Arduino core", "esp32": "arduino-esp32"}


def twin_spec(core: CoreRelease) -> BoardSpec:
    name = f"twin-{core.id}"
    return BoardSpec(
        name=name,
        kind="twin",
        stack=core.stack,
        personality=core.personality,
        # PlatformIO board ids are file names: keep them free of dots.
        pio_board=name.replace(".", "_"),
        description=(
            f"host twin behaving like {FAMILY_TITLES[core.family]} {core.version} "
            f"({STACK_TITLES[core.stack]})"
        ),
        core=core,
        aliases=core.aliases,
    )


def _registry() -> tuple[Mapping[str, BoardSpec], Mapping[str, str]]:
    boards = {spec.name: spec for spec in map(twin_spec, releases())}
    aliases = {alias: spec.name for spec in boards.values() for alias in spec.aliases}
    clash = set(aliases) & set(boards)
    if clash:
        raise ConfigError(
            f"board aliases {sorted(clash)} are also board names",
            fix="rename the alias in the core release file",
        )
    return MappingProxyType(boards), MappingProxyType(aliases)


BOARDS, ALIASES = _registry()

# kind -> implementation; a new kind registers here instead of growing an if/elif.
BOARD_KINDS: dict[str, type[TwinBoard]] = {"twin": TwinBoard}


def get_board_spec(name: str) -> BoardSpec:
    """The board called `name`, or the one an alias points to."""
    canonical = ALIASES.get(name, name)
    try:
        return BOARDS[canonical]
    except KeyError:
        known = ", ".join([*BOARDS, *(f"{a} (= {t})" for a, t in ALIASES.items())])
        raise ConfigError(
            f"unknown board {name!r}",
            fix=f"use one of: {known} (hil boards lists them)",
        ) from None


def open_board(name: str, *, cache_dir: Path, run_dir: Path) -> Board:
    spec = get_board_spec(name)
    return BOARD_KINDS[spec.kind](spec, cache_dir=cache_dir, run_dir=run_dir)
