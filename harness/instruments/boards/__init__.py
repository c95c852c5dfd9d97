"""Boards: the registry of board models, made from the core release data
(harness/model/cores/*.toml), and the implementations of each kind.

Per core release: a twin board, `twin-<family>-<version>`, plus the aliases the release
declares (e.g. `twin-esp8266-axtls` = ESP8266 core 2.4.1), and a real board kind,
`esp-<family>-<version>`, built by PlatformIO with the release's platform. Nothing here
lists boards by hand: a new release file is a new board of each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from harness.instruments.boards.base import Board, BoardSpec
from harness.instruments.boards.bench import BenchBoard
from harness.instruments.boards.esp import EspBoard
from harness.instruments.boards.esp_project import PIO_BOARDS
from harness.instruments.boards.twin import TwinBoard
from harness.model.cores import CoreRelease, releases
from harness.model.errors import ConfigError

STACK_TITLES = {"axtls": "axTLS", "bearssl": "BearSSL", "mbedtls": "mbedTLS"}
FAMILY_TITLES = {"esp8266": "ESP8266 Arduino core", "esp32": "arduino-esp32"}


def _stacks_title(core: CoreRelease) -> str:
    """The default class's stack, then each extra class by name (core 2.4.2: axTLS, and
    BearSSL::WiFiClientSecure)."""
    extra = "".join(f", and {x.api.cls}" for x in core.extra)
    return STACK_TITLES[core.stack] + extra


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
            f"({_stacks_title(core)})"
        ),
        core=core,
        aliases=core.aliases,
    )


def esp_spec(core: CoreRelease) -> BoardSpec | None:
    """The real board of `core`; None when the release data names no PlatformIO platform
    that builds it (arduino-esp32 3.x: platformio/espressif32 stops at 2.0.17)."""
    if not core.platformio.platform:
        return None
    return BoardSpec(
        name=f"esp-{core.id}",
        kind="esp",
        stack=core.stack,
        personality=core.personality,
        pio_board=PIO_BOARDS[core.family],
        description=(
            f"a real {core.chip} on {FAMILY_TITLES[core.family]} {core.version} "
            f"({_stacks_title(core)}), PlatformIO {core.platformio.platform}"
        ),
        core=core,
    )


# kind -> the spec of that kind for a core release; a new kind registers here.
SPEC_FACTORIES = {"twin": twin_spec, "esp": esp_spec}


def _registry() -> tuple[Mapping[str, BoardSpec], Mapping[str, str]]:
    boards = {
        spec.name: spec
        for factory in SPEC_FACTORIES.values()
        for spec in map(factory, releases())
        if spec is not None
    }
    aliases = {alias: spec.name for spec in boards.values() for alias in spec.aliases}
    clash = set(aliases) & set(boards)
    if clash:
        raise ConfigError(
            f"board aliases {sorted(clash)} are also board names",
            fix="rename the alias in the core release file",
        )
    return MappingProxyType(boards), MappingProxyType(aliases)


BOARDS, ALIASES = _registry()

# kind -> implementation.
BOARD_KINDS: dict[str, type[TwinBoard] | type[EspBoard]] = {"twin": TwinBoard, "esp": EspBoard}


def find_board_spec(name: str) -> BoardSpec | None:
    """The board called `name` or pointed to by that alias; None when there is none."""
    return BOARDS.get(ALIASES.get(name, name))


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


def open_board(
    name: str,
    *,
    cache_dir: Path,
    run_dir: Path,
    bench_board: BenchBoard | None = None,
    skip_flash: bool = False,
) -> Board:
    """The board `name` ready to build; an `esp` board on the bench board given (a
    simulated one builds its firmware through the twin of the same core)."""
    spec = get_board_spec(name)
    if spec.kind == "twin":
        return TwinBoard(spec, cache_dir=cache_dir, run_dir=run_dir)
    assert spec.core is not None  # every registered spec comes from a core release
    twin = None
    if bench_board is not None and bench_board.simulated:
        twin = TwinBoard(twin_spec(spec.core), cache_dir=cache_dir, run_dir=run_dir / "twin-build")
    return EspBoard(
        spec,
        cache_dir=cache_dir,
        run_dir=run_dir,
        bench_board=bench_board,
        skip_flash=skip_flash,
        twin=twin,
    )


def esp_board_for(name: str) -> BoardSpec:
    """The real board of the core release that board `name` (a twin or an esp) is or
    imitates: what a bench board runs when a twin scenario is sent to it."""
    spec = get_board_spec(name)
    if spec.core is None:
        raise ConfigError(f"board {spec.name} names no core release", fix="use a core board")
    esp = esp_spec(spec.core)
    if esp is None:
        raise ConfigError(
            f"core {spec.core.id} has no real board: its release data names no PlatformIO "
            "platform that builds it",
            seen=f'[platformio] platform = "" in {spec.core.path.name}',
            fix="run it on its twin, or add the platform (with its source) to the release file",
        )
    return BOARDS[esp.name]
