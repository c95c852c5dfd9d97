"""Boards: the catalogue of board models and the registry of their implementations."""

from __future__ import annotations

from pathlib import Path

from harness.instruments.boards.base import Board, BoardSpec
from harness.instruments.boards.twin import TwinBoard
from harness.model.errors import ConfigError

BOARDS: dict[str, BoardSpec] = {
    spec.name: spec
    for spec in (
        BoardSpec(
            name="twin-esp8266-axtls",
            kind="twin",
            stack="axtls",
            personality="esp8266-axtls",
            pio_board="twin-esp8266-axtls",
            core="esp8266-2.4.1",
            description="host twin behaving like ESP8266 Arduino core 2.4.1 (axTLS)",
        ),
    )
}

# kind -> implementation; a new kind registers here instead of growing an if/elif.
BOARD_KINDS: dict[str, type[TwinBoard]] = {"twin": TwinBoard}


def get_board_spec(name: str) -> BoardSpec:
    try:
        return BOARDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown board {name!r}",
            fix=f"use one of: {', '.join(sorted(BOARDS))} (hil boards lists them)",
        ) from None


def open_board(name: str, *, cache_dir: Path, run_dir: Path) -> Board:
    spec = get_board_spec(name)
    return BOARD_KINDS[spec.kind](spec, cache_dir=cache_dir, run_dir=run_dir)
