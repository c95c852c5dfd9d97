"""`hil`: the command line. Thin: options in, one library call, output out."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness import report
from harness.errors import HilError

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help_text: str):
    def register(fn: Command) -> Command:
        COMMANDS[name] = (fn, getattr(fn, "_options", lambda p: None), help_text)
        return fn

    return register


def options(setup: Callable[[argparse.ArgumentParser], None]):
    def attach(fn: Command) -> Command:
        fn._options = setup  # type: ignore[attr-defined]
        return fn

    return attach


def _bench_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs-dir", type=Path, default=Path("hil-runs"), help="where run dirs go")
    p.add_argument("--cache-dir", type=Path, default=None, help="keys and builds cache")


def _bench(args: argparse.Namespace):
    from harness.runner import BenchConfig

    extra = {"cache_dir": args.cache_dir} if args.cache_dir is not None else {}
    return BenchConfig(runs_dir=args.runs_dir, **extra)


# -- run -------------------------------------------------------------------------------------


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    _bench_options(p)


@command("run", "run one scenario on its board and diagnose it")
@options(_run_options)
def cmd_run(args: argparse.Namespace) -> int:
    from harness.runner import run_scenario
    from harness.scenarios import list_scenarios, load_scenario

    if args.list or not args.scenario:
        print("\n".join(list_scenarios()))
        return 0 if args.list else 2
    record = run_scenario(load_scenario(args.scenario), _bench(args))
    if args.json:
        print(report.record_json_text(record))
    else:
        print(report.render_text(record))
    return {"pass": 0, "fail": 1}.get(record.verdict.outcome.value, 3)


# -- diagnose --------------------------------------------------------------------------------


def _diagnose_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", type=Path, help="a serial log (serial.log or pasted from an issue)")
    p.add_argument("--stack", default="axtls", help="TLS stack of the log (axtls)")
    p.add_argument("--json", action="store_true")


@command("diagnose", "diagnose a serial log pasted from an issue")
@options(_diagnose_options)
def cmd_diagnose(args: argparse.Namespace) -> int:
    from harness.correlate import build_timeline
    from harness.diagnose import Context, diagnose
    from harness.logformats import parse_serial
    from harness.logformats.lines import read_pasted_log, read_serial_log

    if args.serial is None:
        raise HilError("hil diagnose needs a log", fix="pass --serial FILE")
    try:
        text = args.serial.read_text(errors="replace")
    except OSError as exc:
        raise HilError(f"cannot read {args.serial}", seen=str(exc), fix="check the path") from None
    lines = read_serial_log(text) or read_pasted_log(text)
    timeline = build_timeline(parse_serial(lines, args.stack))
    diagnosis = diagnose(timeline, Context(stack=args.stack))
    if args.json:
        doc = {"stack": args.stack, **diagnosis.to_json()}
        print(json.dumps(doc, indent=2))
    else:
        print(report.diagnosis_text(diagnosis))
    return 0


# -- benchmarks ------------------------------------------------------------------------------


def _bench_cmd_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--runs", type=int, default=None, help="runs per figure")
    p.add_argument("--json", action="store_true", help="one JSON object per figure")


@command("bench", "run benchmarks: each figure beside its baseline, measured in one run")
@options(_bench_cmd_options)
def cmd_bench(args: argparse.Namespace) -> int:
    from harness.benchmarks import select

    for module in select(args.names):
        figure = module.measure(args.runs) if args.runs is not None else module.measure()
        print(json.dumps(figure.to_json()) if args.json else figure, flush=True)
    return 0


# -- catalogues and set-up -------------------------------------------------------------------


@command("profiles", "list the server profiles")
def cmd_profiles(args: argparse.Namespace) -> int:
    from harness.servers.profiles import list_profiles, load_profile

    for name in list_profiles():
        p = load_profile(name)
        print(f"{name:<28} {p.description}")
    return 0


@command("boards", "list the boards")
def cmd_boards(args: argparse.Namespace) -> int:
    from harness.boards import BOARDS

    for spec in BOARDS.values():
        print(f"{spec.name:<24} {spec.description}")
    return 0


@command("setup", "install PlatformIO's offline pieces (tool-scons) when missing")
def cmd_setup(args: argparse.Namespace) -> int:
    from harness.boards.platformio import ensure_tool_scons

    log_path = Path.home() / ".cache" / "esp-tls-hil" / "setup.log"
    print(ensure_tool_scons(log_path=log_path))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (fn, setup, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        setup(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except HilError as exc:
        print(f"hil {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hil {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
