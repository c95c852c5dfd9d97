"""The server port of a run: the one the scenario had last time when it is free.

A board's build compiles the port in, so the same port means the same firmware: the
build and the flash are skipped (a twin's build reads it at start: any port will do).
It is remembered per scenario and bench board, so boards running one scenario at once
(pytest-xdist) each keep their own.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from harness.instruments.boards.bench import BenchBoard
from harness.model.errors import ConfigError
from harness.run.names import safe_name

log = logging.getLogger(__name__)


def port_free(bind: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers bind: a port in TIME_WAIT is free to them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError:
            return False
    return True


def free_port(bind: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((bind, 0))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {bind}",
                seen=str(exc),
                fix="give the bench's own address (bench file [bench] bind, --hil-bind)",
            ) from None
        return s.getsockname()[1]


def pick_port(
    cache_dir: Path,
    scenario: str,
    bind: str,
    bench_board: BenchBoard | None,
    *,
    fresh: bool = False,
) -> int:
    """The remembered port when it is free (and not `fresh`), else a free one."""
    key = scenario + (f"@{bench_board.name}" if bench_board is not None else "")
    remembered = cache_dir / "ports" / safe_name(key)
    try:
        preferred = int(remembered.read_text())
    except (OSError, ValueError):
        preferred = 0
    if fresh or not 0 < preferred < 65536 or not port_free(bind, preferred):
        preferred = free_port(bind)
    try:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(str(preferred))
    except OSError as exc:  # only a rebuild next time; the run goes on
        log.warning("cannot remember port %d in %s: %s", preferred, remembered, exc)
    return preferred
