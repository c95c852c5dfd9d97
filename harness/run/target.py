"""Where a scenario runs: the twin it names, or a board on the bench.

With a bench board chosen (`--hil-board`), a scenario written for a twin runs on the
real board of the same core release (`twin-esp8266-2.4.1` -> `esp-esp8266-2.4.1`),
so one test suite runs on the twins in CI and on a bench's boards on the desk. A
scenario that names an `esp` board needs a bench; the bench board is the one named,
else the only one that runs that core. The server binds to the bench's LAN address
only when the bench file gives one (`[bench] bind`), else to 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.instruments.boards import esp_board_for, get_board_spec
from harness.instruments.boards.bench import Bench, BenchBoard, load_bench, parse_port
from harness.model import Scenario
from harness.model.errors import ConfigError

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Target:
    scenario: Scenario  # with the board it really runs on
    bench_board: BenchBoard | None  # None: the twin
    bind: str  # the address the server listens on
    external: bool  # the bench's LAN address: the one non-loopback bind allowed

    def info(self) -> dict[str, str]:
        """Board, port and core, for reports (empty for a twin: its name says it all)."""
        if self.bench_board is None:
            return {}
        spec = get_board_spec(self.scenario.board)
        return {
            "bench_board": self.bench_board.name,
            "port": self.bench_board.port.text,
            "core": spec.core.id if spec.core else "",
        }


def _no_bench(names: tuple[str, ...]) -> ConfigError:
    return ConfigError(
        f"--hil-board {','.join(names)} without a bench file",
        fix="name the bench file too: --hil-bench FILE, ini hil_bench or HIL_BENCH",
    )


def check_bench_boards(path: Path | None, names: tuple[str, ...], port: str | None) -> Bench:
    """The bench boards a session chose, checked before anything runs (the pytest plugin
    calls it at the session's start): a wrong name is one error, not one per test."""
    if path is None:
        raise _no_bench(names)
    bench = load_bench(path)
    for name in names:
        bench.board(name)  # unknown: the error lists the bench's boards
    if port is not None and len(names) > 1:
        raise ConfigError(
            f"--hil-port with {len(names)} boards ({', '.join(names)})",
            fix="give one --hil-board with --hil-port; the bench file names the others' ports",
        )
    return bench


def _pick(bench: Bench, core: str, board_name: str | None, scenario: Scenario) -> BenchBoard:
    if board_name is not None:
        chosen = bench.board(board_name)  # unknown: lists the bench's boards
        if core not in chosen.core_ids():
            raise ConfigError(
                f"scenario {scenario.name} needs core {core}, but bench board {chosen.name} "
                f"runs {', '.join(chosen.core_ids()) or 'no core'} ({bench.path})",
                fix=f"add {core.split('-', 1)[1]!r} to cores of board {chosen.name}, or pick "
                "a scenario of its cores",
            )
        return chosen
    runs = [b for b in bench.boards.values() if core in b.core_ids()]
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise ConfigError(
            f"scenario {scenario.name} needs a board with core {core}; {bench.path} has none",
            fix="add that core to a [[board]]'s cores, or run it on the twin",
        )
    raise ConfigError(
        f"scenario {scenario.name}: boards {', '.join(b.name for b in runs)} of {bench.path} "
        f"all run core {core}",
        fix="choose one with --hil-board (ini hil_board)",
    )


def resolve_target(
    scenario: Scenario,
    *,
    bench: Bench | None,
    board_name: str | None,
    port: str | None,
    bind: str,
) -> Target:
    """Where `scenario` runs, or a ConfigError naming the input and the fix."""
    spec = get_board_spec(scenario.board)
    if board_name is not None and bench is None:
        raise _no_bench((board_name,))
    if port is not None and board_name is None and spec.kind == "twin":
        raise ConfigError(
            f"--hil-port {port} without --hil-board",
            fix="name the bench board whose port it overrides (--hil-board NAME)",
        )
    if spec.kind == "twin" and board_name is None:
        return Target(scenario, None, bind, external=False)
    if bench is None:
        raise ConfigError(
            f"scenario {scenario.name} runs on {spec.name}, a real board, but no bench file "
            "names the boards",
            fix="name one: --hil-bench FILE, ini hil_bench or HIL_BENCH (see bench/README)",
        )
    esp = esp_board_for(spec.name)
    assert esp.core is not None
    chosen = _pick(bench, esp.core.id, board_name, scenario)
    if port is not None:
        chosen = replace(chosen, port=parse_port(port, "--hil-port"))
    server_bind = bench.bind
    return Target(
        replace(scenario, board=esp.name),
        chosen,
        server_bind,
        external=not server_bind.startswith("127."),
    )
