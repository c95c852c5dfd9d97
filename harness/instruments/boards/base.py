"""What a board is: the small protocol every board implements, and its data."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.model.cores import CoreRelease
from harness.model.errors import ConfigError, StateError

if TYPE_CHECKING:
    from harness.instruments.serial_monitor import SerialMonitor


@dataclass(frozen=True)
class BoardSpec:
    """A board model as data (the registry in boards/__init__.py makes one per core release)."""

    name: str  # e.g. "twin-esp8266-2.4.1"
    kind: str  # implementation registered in boards.BOARD_KINDS, e.g. "twin"
    stack: str  # TLS stack whose log format it prints: "axtls", "bearssl", "mbedtls"
    personality: str  # "esp8266-axtls", ...
    pio_board: str  # PlatformIO board id
    baud: int = 115200
    description: str = ""
    core: CoreRelease | None = None  # the core release it behaves like
    aliases: tuple[str, ...] = ()

    @property
    def chip(self) -> str:
        return self.core.chip if self.core else ""

    @property
    def core_version(self) -> str:
        return self.core.version if self.core else ""


def core_id(spec: BoardSpec) -> str:
    """The core release a board is or imitates ("esp8266-2.4.1"); "" if it names none."""
    return spec.core.id if spec.core is not None else ""


@dataclass(frozen=True)
class BuildRequest:
    sketch_dir: Path
    scenario_header: str  # contents of hil_scenario.h, without the build id line
    extra_headers: dict[str, bytes]  # file name -> contents (e.g. hil_ca_cert.h)
    # A user's sketch prints no HIL: lines: the build frames setup() with HIL:BOOT and
    # HIL:DONE (the twin's core does it when the program defines its build id).
    frame: bool = False
    # Seconds the build may take, waiting for the build lock included (None: the
    # tool's default); a matrix cell's deadline comes down here.
    timeout: float | None = None


@dataclass(frozen=True)
class Firmware:
    build_id: str
    path: Path
    built: bool  # False when the build was already up to date


class Board(abc.ABC):
    """A place a sketch runs: build, flash, reset, and a serial port to read."""

    spec: BoardSpec
    # The build can frame setup() with HIL:BOOT/HIL:DONE (BuildRequest.frame): what a
    # user's sketch, which prints no HIL: line, needs.
    frames_setup: bool = False

    @property
    @abc.abstractmethod
    def serial_port(self) -> str: ...

    @abc.abstractmethod
    def build(self, request: BuildRequest, *, log_path: Path) -> Firmware: ...

    @abc.abstractmethod
    def flash(self, firmware: Firmware, *, log_path: Path) -> bool:
        """Install `firmware`; False when the board already had it."""

    @abc.abstractmethod
    def reset(self, monitor: SerialMonitor | None = None) -> None:
        """Restart the sketch from setup(). A real board resets through `monitor`, the
        reader that owns its port (so no byte of the boot is lost); the twin needs none."""

    def give_run_values(self, env: dict[str, str]) -> None:
        """The run's server port and trust, for a build that reads them at start (only
        the twin's: boards compile them in, harness.instruments.boards.twin_run_values)."""
        raise StateError(
            f"board {self.spec.name} compiles its server port and trust in",
            fix="give run-time values to a twin board only",
        )

    def map_network(self, addresses: dict[str, str], ports: dict[int, int]) -> None:
        """Send what the sketch dials (host names and IP literals -> the run's server
        address, ports -> its port) to the run's server from the next reset on.

        A real board dials what its sketch says, through the bench's network: nothing
        here can redirect it."""
        if addresses or ports:
            raise ConfigError(
                f"board {self.spec.name} cannot redirect the addresses its sketch hard-codes",
                seen=", ".join([*addresses, *map(str, ports)]),
                fix="run a user's sketch unchanged on a twin board, or give a real board a "
                "sketch that takes its server from hil_scenario.h (see sketches/)",
            )

    @abc.abstractmethod
    def halt(self) -> None:
        """Stop the sketch (the twin's process); a real board keeps running."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything; safe to call more than once."""

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
