"""`hil`: the command line. Thin: options in, one library call, output out."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.analysis import report
from harness.model.errors import HilError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle

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
    from harness.run.runner import BenchConfig

    extra = {"cache_dir": args.cache_dir} if args.cache_dir is not None else {}
    return BenchConfig(runs_dir=args.runs_dir, **extra)


# -- run -------------------------------------------------------------------------------------


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    _bench_options(p)
    _compose_options(p)


def _compose_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("a run composed from options instead of a scenario file")
    g.add_argument("--board", help="board (see `hil boards`)")
    g.add_argument("--profile", help="server profile (see `hil profiles`)")
    g.add_argument("--sketch", type=Path, help="sketch folder (default: the board's HTTPS GET)")
    g.add_argument("--backend", default="builtin", help="builtin or apache")
    g.add_argument("--expect-connected", choices=("yes", "no"), default=None)
    g.add_argument("--expect-cause", default=None, help="a catalogue cause (implies no)")


def _scenario(args: argparse.Namespace):
    """The scenario file named, or one composed from --board/--profile/..."""
    from harness.run.composed import compose_scenario
    from harness.run.scenarios import load_scenario

    if args.board is None and args.profile is None:
        return load_scenario(args.scenario)
    if args.scenario:
        raise HilError(
            f"hil run: give a scenario ({args.scenario}) or --board/--profile, not both",
            fix="drop the scenario name, or the --board/--profile options",
        )
    return compose_scenario(
        board=args.board,
        profile=args.profile,
        sketch=args.sketch,
        backend=args.backend,
        expect_connected=args.expect_connected,
        expect_cause=args.expect_cause,
    )


@command("run", "run one scenario on its board and diagnose it")
@options(_run_options)
def cmd_run(args: argparse.Namespace) -> int:
    from harness.run.runner import run_scenario
    from harness.run.scenarios import list_scenarios

    if args.list or not (args.scenario or args.board or args.profile):
        print("\n".join(list_scenarios()))
        return 0 if args.list else 2
    record = run_scenario(_scenario(args), _bench(args))
    if args.json:
        print(report.record_json_text(record))
    else:
        print(report.render_text(record))
    return {"pass": 0, "fail": 1}.get(record.verdict.outcome.value, 3)


# -- diagnose --------------------------------------------------------------------------------


def _diagnose_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", type=Path, help="a serial log (serial.log, or pasted from an issue)")
    p.add_argument("--pcap", type=Path, help="a capture of the same connection")
    p.add_argument("--keylog", type=Path, help="the TLS key log, to decode encrypted alerts")
    p.add_argument("--port", type=int, default=None, help="the server's TCP port in the capture")
    p.add_argument(
        "--stack", default="auto", help="TLS stack of the log: auto, axtls, bearssl, mbedtls"
    )
    p.add_argument("--json", action="store_true")


@command("diagnose", "diagnose a serial log and/or a capture, e.g. pasted from an issue")
@options(_diagnose_options)
def cmd_diagnose(args: argparse.Namespace) -> int:
    from harness.run.offline import diagnose_files

    if args.serial is None and args.pcap is None:
        raise HilError(
            "hil diagnose needs something to read", fix="pass --serial FILE, --pcap FILE or both"
        )
    result = diagnose_files(
        serial=args.serial, pcap=args.pcap, keylog=args.keylog, port=args.port, stack=args.stack
    )
    if args.json:
        print(json.dumps({"stack": result.stack, **result.diagnosis.to_json()}, indent=2))
    else:
        print(f"Stack: {result.stack or 'not recognised'}")
        print(report.diagnosis_text(result.diagnosis))
    return 0


# -- benchmarks ------------------------------------------------------------------------------


def _bench_cmd_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--runs", type=int, default=None, help="runs per figure")
    p.add_argument("--json", action="store_true", help="one JSON object per figure")


@command("bench", "run benchmarks: each figure beside its baseline, measured in one run")
@options(_bench_cmd_options)
def cmd_bench(args: argparse.Namespace) -> int:
    from harness.run.benchmarks import select

    for module in select(args.names):
        figure = module.measure(args.runs) if args.runs is not None else module.measure()
        print(json.dumps(figure.to_json()) if args.json else figure, flush=True)
    return 0


# -- golden recordings ----------------------------------------------------------------------

# Exit codes of `hil golden`: 0 match / recorded, 1 differences, 2 bad input,
# 3 the environment failed (a tool missing or broken).
GOLDEN_ENVIRONMENT_EXIT = 3


def _golden_options(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="golden_action", required=True)
    c = sub.add_parser("check", help="compare a run with a golden recording")
    c.add_argument("run_dir", type=Path, help="the run directory (hil-runs/...)")
    c.add_argument("golden_dir", type=Path, help="the golden (tests/data/golden/CORE/CASE)")
    c.add_argument("--json", action="store_true", help="the report as JSON")
    r = sub.add_parser("record", help="keep a run as a golden recording")
    r.add_argument("run_dir", type=Path, help="the run directory (hil-runs/...)")
    r.add_argument("dir", type=Path, help="where the golden goes (must not exist yet)")


@command("golden", "compare a run with a golden recording, or keep a run as one")
@options(_golden_options)
def cmd_golden(args: argparse.Namespace) -> int:
    from harness.analysis.golden import render_table
    from harness.model.errors import DeadlineError, ToolFailedError, ToolMissingError
    from harness.run import golden

    try:
        if args.golden_action == "record":
            print(f"golden recorded in {golden.record(args.run_dir, args.dir)}")
            return 0
        result = golden.check(args.run_dir, args.golden_dir)
    except (ToolMissingError, ToolFailedError, DeadlineError) as exc:
        print(f"hil golden {args.golden_action}: {exc}", file=sys.stderr)
        return GOLDEN_ENVIRONMENT_EXIT
    print(json.dumps(result.to_json(), indent=2) if args.json else render_table(result))
    return 0 if result.matches else 1


# -- catalogues and set-up -------------------------------------------------------------------


@command("profiles", "list the server profiles: backends, description, source")
def cmd_profiles(args: argparse.Namespace) -> int:
    from harness.instruments.servers.profiles import list_profiles, load_profile

    for name in list_profiles():
        p = load_profile(name)
        print(f"{name:<28} [{','.join(p.backends)}] {p.description}")
        print(f"{'':<28} source: {' '.join(p.source.split())}")
    return 0


# -- certs and serve -------------------------------------------------------------------------


def _certs_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", nargs="?", help="certificate plan (none: list the plans)")
    p.add_argument("--host", default="127.0.0.1", help="host the certificate is for")
    p.add_argument("--out", type=Path, default=None, help="directory (default: certs-PLAN)")
    p.add_argument("--cache-dir", type=Path, default=None, help="keys cache")


def _key_cache(cache_dir: Path | None) -> Path:
    from harness.run.runner import BenchConfig

    return (cache_dir if cache_dir is not None else BenchConfig().cache_dir) / "keys"


def _print_bundle(bundle: CertBundle) -> None:
    for what, path in bundle.files():
        print(f"{what + ':':<28} {path}")
    print(f"{'server SHA-1:':<28} {bundle.fingerprint('sha1')}")
    print(f"{'server SHA-256:':<28} {bundle.fingerprint('sha256')}")
    print(f"{'CA subject:':<28} {bundle.ca_subject}")
    print(f"{'CA SHA-256:':<28} {bundle.fingerprint('ca-sha256')}")


@command("certs", "write a certificate plan's files (keys, chain, CA, C headers)")
@options(_certs_options)
def cmd_certs(args: argparse.Namespace) -> int:
    from harness.instruments.certs import PLANS, get_plan, make_certs

    if not args.plan:
        for name, plan in sorted(PLANS.items()):
            print(f"{name:<24} {plan.description}")
        return 0
    out = args.out if args.out is not None else Path(f"certs-{args.plan}")
    bundle = make_certs(get_plan(args.plan), args.host, out, _key_cache(args.cache_dir))
    print(f"{'plan:':<28} {bundle.plan} for {bundle.host}")
    _print_bundle(bundle)
    return 0


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", help="server profile (see `hil profiles`)")
    p.add_argument("--backend", default="builtin", help="builtin or apache")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    p.add_argument("--host", default=None, help="host the certificate is for (default: --bind)")
    p.add_argument("--allow-external", action="store_true", help="allow a bind off 127.0.0.0/8")
    _bench_options(p)


@command("serve", "serve a profile until Ctrl-C, and print what a sketch needs")
@options(_serve_options)
def cmd_serve(args: argparse.Namespace) -> int:
    from harness.instruments.certs import get_plan, make_certs
    from harness.instruments.servers import start_server
    from harness.instruments.servers.profiles import load_profile
    from harness.run.runner import new_run_dir

    profile = load_profile(args.profile)
    run_dir = new_run_dir(_bench(args).runs_dir, f"serve-{profile.name}")
    host = args.host or args.bind
    bundle = make_certs(
        get_plan(profile.cert_plan), host, run_dir / "certs", _key_cache(args.cache_dir)
    )
    stop = threading.Event()
    # Ctrl-C and SIGTERM end the wait the same way; the server is stopped below.
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    server = None
    try:
        server = start_server(
            profile,
            args.backend,
            bundle,
            args.bind,
            args.port,
            run_dir,
            allow_external=args.allow_external,
        )
        print(f"{'profile:':<28} {profile.name} on {args.backend}: {profile.description}")
        print(f"{'address:':<28} {server.address[0]}:{server.port}")
        print(f"{'server pid:':<28} {server.pid}")
        _print_bundle(bundle)
        print(f"{'server log:':<28} {server.server_log}")
        print("serving; Ctrl-C stops", flush=True)
        while not stop.wait(0.2):
            if not server.alive():
                raise HilError(
                    f"the {args.backend} server of {profile.name} stopped by itself",
                    fix="read the server log",
                    log=server.server_log,
                )
    finally:
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


@command("boards", "list the boards")
def cmd_boards(args: argparse.Namespace) -> int:
    from harness.instruments.boards import BOARDS

    for spec in BOARDS.values():
        print(f"{spec.name:<24} {spec.description}")
    return 0


@command("setup", "install PlatformIO's offline pieces (tool-scons) when missing")
def cmd_setup(args: argparse.Namespace) -> int:
    from harness.instruments.boards.platformio import ensure_tool_scons

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


def _terminated(signum: int, frame: object) -> None:
    # A CI runner cancelling a job sends SIGTERM: unwind like Ctrl-C, so every process
    # the run started is stopped and its artifacts are kept.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
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
