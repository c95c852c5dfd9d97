"""The server port of a run: one the scenario had before when it is free.

A board's build compiles the port in, so the same port means the same firmware: the
build and the flash are skipped (a twin's build reads it at start: any port will do).
It is remembered per scenario and bench board, so boards running one scenario at once
(pytest-xdist) each keep their own.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

from harness.instruments.boards.bench import BenchBoard
from harness.model.errors import ConfigError
from harness.run.names import safe_name

log = logging.getLogger(__name__)

# Ports remembered per scenario: about the most processes that run it at once.
REMEMBERED = 8


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
    ours: Callable[[int], bool] | None = None,
) -> int:
    """The first remembered port that is free, or held by a server of this process's
    session waiting for a run (`ours`, harness.run.session); else a free one, remembered
    after them. `fresh`: a new one whatever is remembered.

    Several ports are remembered, in a stable order: processes that run one scenario at
    the same time (pytest-xdist workers, each keeping its server between runs) each
    settle on one of them, and each port's firmware stays in the build cache.
    """
    key = scenario + (f"@{bench_board.name}" if bench_board is not None else "")
    remembered = cache_dir / "ports" / safe_name(key)
    try:
        known = [int(w) for w in remembered.read_text().split()]
    except (OSError, ValueError):
        known = []
    known = [p for p in dict.fromkeys(known) if 0 < p < 65536]
    if not fresh:
        for port in known:
            if (ours is not None and ours(port)) or port_free(bind, port):
                return port
    port = free_port(bind)
    known = [*(p for p in known if p != port), port][-REMEMBERED:]
    try:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text("".join(f"{p}\n" for p in known))
    except OSError as exc:  # only a rebuild next time; the run goes on
        log.warning("cannot remember port %d in %s: %s", port, remembered, exc)
    return port
