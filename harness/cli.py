"""`hil`: the command line. Thin: options in, one library call, output out."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.analysis import report
from harness.model.errors import ConfigError, HilError, NetworkSafetyError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle

EXIT_BAD_INPUT = 2  # the user's input: fix the command line or the file it names
EXIT_ENVIRONMENT = 3  # the machine: a folder, a tool, a port; or a run that could not complete
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (`| head`), as a shell reports SIGPIPE

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


def _ranged(parse: Callable[[str], float], low: float, high: float, what: str):
    """An argparse type: `parse` the text and refuse what is outside [low, high]."""

    def check(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{value} is not {what}")
        return value

    return check


_positive_int = _ranged(int, 1, float("inf"), "a whole number of 1 or more")
_port = _ranged(int, 0, 65535, "a TCP port (0..65535)")
_seconds = _ranged(float, 0.0, float("inf"), "a duration (0 or more seconds)")


def _bench_options(p: argparse.ArgumentParser) -> None:
    from harness.run.runner import BenchConfig

    d = BenchConfig(cache_dir=Path("."))  # the defaults, for the help text
    p.add_argument("--runs-dir", type=Path, default=Path("hil-runs"), help="where run dirs go")
    p.add_argument("--cache-dir", type=Path, default=None, help="keys and builds cache")
    p.add_argument(
        "--sketches-dir", type=Path, default=None, help="the sketches folder (default: built in)"
    )
    p.add_argument("--bind", default=d.bind, help=f"bench address (default {d.bind})")
    for name, what in (
        ("boot", "from reset to HIL:BOOT"),
        ("attempt", "from HIL:BOOT to HIL:DONE (a user's sketch: to quiet Serial)"),
        ("settle", "for the server to see every connection close"),
        ("quiet", "of quiet Serial (no connection open) that end a user's sketch's run"),
    ):
        default = getattr(d, f"{name}_timeout")
        p.add_argument(
            f"--{name}-timeout",
            type=_seconds,
            default=default,
            help=f"seconds {what} (default {default:g})",
        )
    p.add_argument(
        "--keep-runs",
        type=int,
        default=d.keep_runs,
        help=f"run folders kept: the last N, and every failed one (default {d.keep_runs}; "
        "0 keeps all)",
    )


def writable_dir(path: Path, option: str) -> Path:
    """`path` as a folder this process can write, made if missing; else a clear error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            f"{option} {path} is a file, not a folder",
            fix=f"give {option} a folder (or a name that does not exist yet)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{option} {path}: cannot make the folder",
            seen=exc.strerror or str(exc),
            fix=f"give {option} a folder you can write",
        ) from None
    if not path.is_dir():
        raise ConfigError(f"{option} {path} is not a folder", fix=f"give {option} a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{option} {path} is not writable",
            seen="read-only (a read-only mount, or another user's folder)",
            fix=f"give {option} a folder you can write",
        )
    return path


def _bench(args: argparse.Namespace):
    from harness.run.runner import BenchConfig

    extra = {}
    if args.cache_dir is not None:
        extra["cache_dir"] = writable_dir(args.cache_dir, "--cache-dir")
    if args.sketches_dir is not None:
        extra["sketches_dir"] = args.sketches_dir
    if args.keep_runs < 0:
        raise ConfigError(
            f"--keep-runs {args.keep_runs} is negative", fix="give 0 (keep all) or more"
        )
    return BenchConfig(
        runs_dir=writable_dir(args.runs_dir, "--runs-dir"),
        bind=args.bind,
        boot_timeout=args.boot_timeout,
        attempt_timeout=args.attempt_timeout,
        settle_timeout=args.settle_timeout,
        quiet_timeout=args.quiet_timeout,
        keep_runs=args.keep_runs,
        **extra,
    )


# -- run -------------------------------------------------------------------------------------


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="scenario name from the catalogue (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument(
        "--scenario-file", type=Path, default=None, help="run a scenario from a TOML file instead"
    )
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    _bench_options(p)
    _compose_options(p)
    g = p.add_argument_group("a run on a board of the bench file")
    g.add_argument("--bench", default=None, help="bench file (default: HIL_BENCH)")
    g.add_argument("--bench-board", default=None, help="the bench board it runs on")
    g.add_argument("--port", default=None, help="overrides that board's port")
    g.add_argument(
        "--skip-flash",
        action="store_true",
        help="flash nothing; still check the board runs this build",
    )


def _compose_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("a run composed from options instead of a scenario file")
    g.add_argument("--board", help="board (see `hil boards`)")
    g.add_argument("--profile", help="server profile (see `hil profiles`)")
    g.add_argument("--sketch", type=Path, help="sketch folder (default: the board's HTTPS GET)")
    g.add_argument("--backend", default="builtin", help="builtin, apache or tlslite")
    g.add_argument("--expect-connected", choices=("yes", "no"), default=None)
    g.add_argument("--expect-cause", default=None, help="a catalogue cause (implies no)")


def _scenario(args: argparse.Namespace):
    """The scenario of the catalogue named, the file given, or one composed from
    --board/--profile/...; exactly one of them."""
    from harness.run.composed import compose_scenario
    from harness.run.scenarios import list_scenarios, load_scenario, load_scenario_file

    composed = args.board is not None or args.profile is not None
    given = [bool(args.scenario), args.scenario_file is not None, composed]
    if sum(given) > 1:
        raise ConfigError(
            "hil run: more than one of a scenario name, --scenario-file and --board/--profile",
            fix="give one: a name from the catalogue, --scenario-file PATH, or --board/--profile",
        )
    if args.scenario_file is not None:
        return load_scenario_file(args.scenario_file)
    if args.scenario:
        return load_scenario(args.scenario)
    if not composed:
        raise ConfigError(
            "hil run needs a scenario",
            seen=f"the catalogue: {', '.join(list_scenarios())}",
            fix="hil run NAME, hil run --scenario-file PATH, or hil run --board B --profile P",
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
    from harness.run.scenarios import scenario_groups

    if args.list:
        for group, names in scenario_groups().items():
            print(f"{group}:" + "".join(f"\n  {n}" for n in names) if names else f"{group}: -")
        return 0
    scenario = _scenario(args)  # before the runs folder is made: a bad name writes nothing
    if args.port is not None and args.bench_board is None:
        raise ConfigError(f"--port {args.port} without --bench-board", fix="name the board too")
    config = _with_bench_board(_bench(args), args.bench, args.bench_board)
    config = replace(config, port=args.port, skip_flash=args.skip_flash)
    record = run_scenario(scenario, config)
    if args.json:
        print(report.record_json_text(record))
    else:
        print(report.render_text(record))
    return {"pass": 0, "fail": 1}.get(record.verdict.outcome.value, EXIT_ENVIRONMENT)


# -- diagnose --------------------------------------------------------------------------------


def _diagnose_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", type=Path, help="a serial log (serial.log, or pasted from an issue)")
    p.add_argument("--pcap", type=Path, help="a capture of the same connection")
    p.add_argument("--keylog", type=Path, help="the TLS key log, to decode encrypted alerts")
    p.add_argument("--port", type=_port, default=None, help="the server's TCP port in the capture")
    p.add_argument(
        "--stack", default="auto", help="TLS stack of the log: auto, axtls, bearssl, mbedtls"
    )
    p.add_argument("--json", action="store_true")


@command("diagnose", "diagnose a serial log and/or a capture, e.g. pasted from an issue")
@options(_diagnose_options)
def cmd_diagnose(args: argparse.Namespace) -> int:
    from harness.run.offline import diagnose_files

    if args.serial is None and args.pcap is None:
        raise ConfigError(
            "hil diagnose needs something to read", fix="pass --serial FILE, --pcap FILE or both"
        )
    result = diagnose_files(
        serial=args.serial, pcap=args.pcap, keylog=args.keylog, port=args.port, stack=args.stack
    )
    attempts = result.attempts
    runs = attempts.runs() if attempts is not None else []
    if args.json:
        extra = {}
        if attempts is not None:
            extra = {
                "lines": attempts.lines,
                "attempts": attempts.count,
                "attempt_causes": [
                    {"first": a, "last": b, "cause": cause, "count": n} for a, b, cause, n in runs
                ],
            }
        if result.core is not None:
            extra["core"] = result.core.to_json()
        print(json.dumps({"stack": result.stack, **result.diagnosis.to_json(), **extra}, indent=2))
    else:
        print(f"Stack: {result.stack or 'not recognised'}")
        if result.core is not None:
            print(f"Core: {result.core.describe()}")
        if attempts is not None and attempts.count > 1:
            print(f"Attempts: {attempts.count} in {attempts.lines} lines")
            for first, last, cause, n in runs:
                which = f"{first}" if first == last else f"{first}-{last}"
                print(f"  attempt {which}: {cause or 'connected'}" + (f" (x{n})" if n > 1 else ""))
            print("The diagnosis of the log (its commonest cause):")
        print(report.diagnosis_text(result.diagnosis))
    return 0


# -- reproduce -------------------------------------------------------------------------------


def _reproduce_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", type=Path, required=True, help="the serial log pasted from an issue")
    p.add_argument("--core", default=None, help="run this core's twin (default: read from the log)")
    p.add_argument("--profile", default=None, help="server profile (default: chosen from the log)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    _bench_options(p)


@command("reproduce", "reproduce a pasted serial log on the twin and set the two side by side")
@options(_reproduce_options)
def cmd_reproduce(args: argparse.Namespace) -> int:
    from harness.run.reproduce import render_text, reproduce_log

    result = reproduce_log(args.serial, _bench(args), core=args.core, profile=args.profile)
    print(json.dumps(result.to_json(), indent=2) if args.json else render_text(result))
    if result.record.verdict.outcome.value == "error":
        return EXIT_ENVIRONMENT
    return 0 if result.reproduced else 1


# -- benchmarks ------------------------------------------------------------------------------


def _bench_cmd_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--runs", type=_positive_int, default=None, help="runs per figure (1 or more)")
    p.add_argument("--json", action="store_true", help="one JSON object per figure")


@command("bench", "run benchmarks: each figure beside its baseline, measured in one run")
@options(_bench_cmd_options)
def cmd_bench(args: argparse.Namespace) -> int:
    from harness.run.benchmarks import select

    modules = select(args.names)
    for n, module in enumerate(modules, start=1):
        runs = f"{args.runs} run(s)" if args.runs is not None else "its default runs"
        print(f"hil bench: [{n}/{len(modules)}] {module.NAME}, {runs} ...", file=sys.stderr)
        measured = module.measure(args.runs) if args.runs is not None else module.measure()
        for figure in measured if isinstance(measured, list | tuple) else [measured]:
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
    from harness.model.errors import (
        CaptureError,
        DeadlineError,
        ToolFailedError,
        ToolMissingError,
    )
    from harness.run import golden

    try:
        if args.golden_action == "record":
            print(f"golden recorded in {golden.record(args.run_dir, args.dir)}")
            return 0
        result = golden.check(args.run_dir, args.golden_dir)
    except (ToolMissingError, ToolFailedError, DeadlineError) as exc:
        print(f"hil golden {args.golden_action}: {exc}", file=sys.stderr)
        return GOLDEN_ENVIRONMENT_EXIT
    except CaptureError as exc:
        # Here a capture is an input the user named (a run's or a golden's): bad input.
        print(f"hil golden {args.golden_action}: {exc}", file=sys.stderr)
        return 2
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

    if cache_dir is not None:
        return writable_dir(cache_dir, "--cache-dir") / "keys"
    return BenchConfig().cache_dir / "keys"


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
    plan = get_plan(args.plan)
    out = writable_dir(args.out if args.out is not None else Path(f"certs-{args.plan}"), "--out")
    bundle = make_certs(plan, args.host, out, _key_cache(args.cache_dir))
    print(f"{'plan:':<28} {bundle.plan} for {bundle.host}")
    _print_bundle(bundle)
    return 0


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", help="server profile (see `hil profiles`)")
    p.add_argument("--backend", default="builtin", help="builtin, apache or tlslite")
    p.add_argument("--port", type=_port, default=0, help="port (0: a free one)")
    p.add_argument("--host", default=None, help="host the certificate is for (default: --bind)")
    p.add_argument("--allow-external", action="store_true", help="allow a bind off 127.0.0.0/8")
    _bench_options(p)


_SAID_ELSEWHERE = frozenset(
    {"conn", "peer", "peer_port", "offered_suites", "extensions", "compression_methods"}
)


class _LogFollower:
    """Prints the server log's new events, one line each, as the server writes them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def print_new(self) -> None:
        from datetime import datetime

        from harness.analysis.serverlog import parse_server_log

        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits its turn
        self.offset += len(complete)
        for e in parse_server_log(complete.decode(errors="replace")):
            if e.kind in ("server_listening", "server_stopped"):
                continue
            stamp = datetime.fromtimestamp(e.t).strftime("%H:%M:%S.%f")[:-3]
            who = f"{e.fields.get('peer', '?')}:{e.fields.get('peer_port', '?')}"
            # The connection is named in front; the suites by name only.
            shown = {k: v for k, v in e.fields.items() if k not in _SAID_ELSEWHERE}
            line = report.describe(replace(e, fields=shown))
            print(f"{stamp} #{e.fields.get('conn', '-')} {who:<21} {line}")
        sys.stdout.flush()


@command("serve", "serve a profile until Ctrl-C, and print what a sketch needs")
@options(_serve_options)
def cmd_serve(args: argparse.Namespace) -> int:
    from harness.instruments.certs import get_plan, make_certs
    from harness.instruments.servers import start_server
    from harness.instruments.servers.base import check_bind
    from harness.instruments.servers.profiles import load_profile
    from harness.run.runner import new_run_dir

    # The refusal names this command's option, not the Python argument.
    check_bind(args.bind, allow_external=args.allow_external, override="--allow-external")
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
    follow: _LogFollower | None = None
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
        follow = _LogFollower(server.server_log)
        while not stop.wait(0.2):
            follow.print_new()  # each connection as it happens
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
    if follow is not None:
        follow.print_new()  # what came in while it stopped
    print("stopped", flush=True)
    return 0


def _boards_cmd_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per board and adapter")
    p.add_argument("--bench", default=None, help="bench file (default: HIL_BENCH)")


@command("boards", "list the boards, and the USB serial adapters attached with the bench's word")
@options(_boards_cmd_options)
def cmd_boards(args: argparse.Namespace) -> int:
    from harness.instruments.boards import BOARDS
    from harness.instruments.boards.bench import bench_path, load_bench
    from harness.instruments.boards.ports import adapters

    path = bench_path(args.bench)
    bench = load_bench(path) if path is not None else None
    for spec in BOARDS.values():
        if args.json:
            core = spec.core
            print(
                json.dumps(
                    {
                        "name": spec.name,
                        "kind": spec.kind,
                        "chip": spec.chip,
                        "family": core.family if core else "",
                        "core_version": spec.core_version,
                        "stack": spec.stack,
                        "personality": spec.personality,
                        # The release's other TLS classes (2.4.2: BearSSL::WiFiClientSecure).
                        "extra_stacks": [x.stack for x in core.extra] if core else [],
                        "aliases": list(spec.aliases),
                        "platformio_platform": core.platformio.platform if core else "",
                        "framework_package": core.platformio.framework_package if core else "",
                        "description": spec.description,
                    }
                )
            )
        else:
            aliases = f" (alias: {', '.join(spec.aliases)})" if spec.aliases else ""
            print(f"{spec.name:<22} {spec.description}{aliases}")
    found = adapters()
    if not args.json:
        print(f"\nUSB serial adapters attached: {len(found)}")
    for a in found:
        named = [b.name for b in bench.boards.values() if a.matches(b.port)] if bench else []
        if args.json:
            print(
                json.dumps(
                    {
                        "adapter": a.device,
                        "vid_pid": f"{a.vid:04x}:{a.pid:04x}",
                        "serial_number": a.serial_number,
                        "location": a.location,
                        "type": a.kind,
                        "bench_board": named[0] if named else None,
                    }
                )
            )
        else:
            says = f"bench board {named[0]}" if named else "not in the bench file"
            print(
                f"  {a.device:<16} {a.vid:04x}:{a.pid:04x} {a.kind or 'unknown adapter'}"
                f" serial={a.serial_number or '-'} location={a.location or '-'}: {says}"
            )
    if bench is not None:
        for b in bench.boards.values():
            if args.json:
                print(
                    json.dumps(
                        {
                            "bench_board": b.name,
                            "chip": b.chip,
                            "cores": list(b.cores),
                            "port": b.port.text,
                            "baud": b.baud,
                            "reset": b.reset,
                        }
                    )
                )
            else:
                print(f"bench {b.name}: {b.chip} cores {', '.join(b.cores)} on {b.port.text}")
    return 0


def _flash_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bench", default=None, help="bench file (default: HIL_BENCH)")
    p.add_argument("--board", required=True, help="a board name of the bench file")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--sketch", type=Path, help="build this sketch with PlatformIO first")
    what.add_argument("--firmware", type=Path, help="a firmware .bin to write at 0x0")
    p.add_argument("--core", default=None, help="core version for --sketch (default: first)")
    p.add_argument("--json", action="store_true")
    _bench_options(p)


@command("flash", "flash a bench board only when its running build differs")
@options(_flash_options)
def cmd_flash(args: argparse.Namespace) -> int:
    from harness.instruments.boards.bench import bench_path, load_bench
    from harness.instruments.boards.farm import board_session
    from harness.instruments.boards.flasher import flash_if_needed
    from harness.run.runner import new_run_dir

    path = bench_path(args.bench)
    if path is None:
        raise HilError("hil flash needs a bench file", fix="pass --bench FILE or set HIL_BENCH")
    bench = load_bench(path)
    board = bench.board(args.board)
    header = ""
    if args.sketch is not None:
        # A sketch joins the bench's WiFi; the credentials come from the environment.
        ssid, password = bench.wifi_credentials()
        header = (
            "#pragma once\n"
            f"#define HIL_WIFI_SSID {json.dumps(ssid)}\n"
            f"#define HIL_WIFI_PASSWORD {json.dumps(password)}\n"
            f"#define HIL_SERVER_HOST {json.dumps(bench.bind)}\n"
            "#define HIL_SERVER_PORT 443\n"
        )
    run_dir = new_run_dir(_bench(args).runs_dir, f"flash-{board.name}")
    firmware, build_id = args.firmware, None
    if args.sketch is not None:
        firmware, build_id = _build_for(board, args, run_dir, header)
    # A board of a labgrid farm: its place is acquired for the flash, released after.
    with board_session(board) as reachable:
        result = flash_if_needed(
            reachable,
            firmware,
            log_path=run_dir / "flash.log",
            build_id=build_id,
            boot_timeout=args.boot_timeout,
        )
    place = board.port.place or None
    if args.json:
        print(json.dumps({**result.to_json(), "place": place}))
    else:
        print(f"{'board:':<12} {result.board}")
        if place:
            print(f"{'place:':<12} {place} (labgrid, {board.port.coordinator}), released")
        print(f"{'port:':<12} {result.port}")
        print(f"{'uploaded:':<12} {'yes' if result.uploaded else 'no, it already runs it'}")
        print(f"{'build id:':<12} {result.build_id}")
        print(f"{'seconds:':<12} {result.seconds:.1f}")
    return 0


def _build_for(board, args: argparse.Namespace, run_dir: Path, header: str) -> tuple[Path, str]:
    from harness.instruments.boards import get_board_spec
    from harness.instruments.boards.base import BuildRequest
    from harness.instruments.boards.esp import EspBoard

    version = args.core or board.cores[0]
    spec = get_board_spec(f"esp-{board.chip}-{version}")
    esp = EspBoard(spec, cache_dir=_bench(args).cache_dir, run_dir=run_dir, bench_board=board)
    firmware = esp.build(BuildRequest(args.sketch, header, {}), log_path=run_dir / "build.log")
    return firmware.path, firmware.build_id


def _sim_board_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", default="esp8266", help="the chip to simulate (esp8266)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", type=Path, help="make a pty and a symlink to it at this path")
    where.add_argument("--rfc2217", type=int, help="serve RFC2217 on 127.0.0.1:PORT (0: free)")
    where.add_argument(
        "--example-firmware", type=Path, help="write a firmware it can run there, and exit"
    )
    p.add_argument("--flash", type=Path, default=None, help="flash file (kept across restarts)")
    p.add_argument("--flash-size", type=int, default=4 * 1024 * 1024, help="bytes")
    p.add_argument("--cache-dir", type=Path, default=None, help="where the flash file goes")


@command("sim-board", "a simulated ESP8266 ROM bootloader on a pty or RFC2217, until Ctrl-C")
@options(_sim_board_options)
def cmd_sim_board(args: argparse.Namespace) -> int:
    from harness.instruments.boards.sim import PtyLink, Rfc2217Server, SimBoard

    if args.example_firmware is not None:
        from harness.instruments.boards.sim.image import example_firmware

        build = f"{int(time.time()):x}"[-12:]
        args.example_firmware.write_bytes(example_firmware(build))
        print(f"wrote {args.example_firmware}: it prints HIL:BOOT build={build}")
        return 0
    cache = args.cache_dir if args.cache_dir is not None else _key_cache(None).parent
    name = f"pty-{args.pty.name}" if args.pty is not None else f"rfc2217-{args.rfc2217}"
    flash = args.flash if args.flash is not None else cache / "sim-board" / f"{name}.flash"
    stop = threading.Event()
    resets: list[bool] = []
    handlers = {
        signal.SIGINT: lambda *_: stop.set(),
        signal.SIGTERM: lambda *_: stop.set(),
        # A pty has no modem lines: these signals stand in for the EN and GPIO0 pins.
        signal.SIGUSR1: lambda *_: resets.append(False),
        signal.SIGUSR2: lambda *_: resets.append(True),
    }
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    board = transport = None
    try:
        transport = PtyLink(args.pty) if args.pty is not None else Rfc2217Server(args.rfc2217)
        board = SimBoard(transport, flash, chip=args.chip, flash_size=args.flash_size)
        board.start()
        print(f"{'simulated board:':<20} {args.chip} ({board.chip.mode})")
        print(f"{'port:':<20} {board.address}")
        print(f"{'flash file:':<20} {flash}")
        print(f"{'pid:':<20} {os.getpid()} (SIGUSR1: reset into the app, SIGUSR2: the loader)")
        print("serving; Ctrl-C stops", flush=True)
        while not stop.wait(0.1):
            while resets:
                board.chip.boot(bootloader=resets.pop(0), cause=2)
            if not board.alive():
                raise HilError(f"the simulated board on {board.address} stopped by itself")
    finally:
        if board is not None:
            board.stop()
        elif transport is not None:
            transport.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)
    return 0


def _setup_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", type=Path, default=None, help="build cache (mbedTLS 3 goes here)")


@command(
    "setup",
    "install PlatformIO's offline pieces (tool-scons) and build mbedTLS 3 (Debian's source "
    "package) for the arduino-esp32 3.x twin, when missing",
)
@options(_setup_options)
def cmd_setup(args: argparse.Namespace) -> int:
    from harness.instruments.boards.platformio import ensure_tool_scons
    from harness.instruments.mbedtls3 import ensure_mbedtls3
    from harness.run.runner import BenchConfig

    cache = BenchConfig().cache_dir
    if args.cache_dir is not None:
        cache = writable_dir(args.cache_dir, "--cache-dir")
    log_path = cache / "setup.log"
    print(ensure_tool_scons(log_path=log_path))
    print(ensure_mbedtls3(cache, log_path=log_path), flush=True)
    return 0


# -- matrix, bisect (harness/run/matrix.py, bisect.py) -------------------------------------


def _matrix_options(p: argparse.ArgumentParser) -> None:
    for axis in ("sketch", "board", "profile"):
        p.add_argument(f"--{axis}", action="append", default=[], help=f"{axis} (repeat; all)")
    p.add_argument("--define", action="append", default=[], help="sketch macro KEY=VALUE")
    p.add_argument("--backend", default="builtin", help="server backend (builtin, apache, tlslite)")
    p.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    p.add_argument("--jobs", type=int, default=0, help="parallel workers (0: one per core)")
    p.add_argument(
        "--agent",
        action="store_true",
        help="run every cell with the agent sketch: one build and one flash per board, each "
        "profile's server sent over Serial",
    )
    p.add_argument("--bench", default=None, help="bench file (default: HIL_BENCH)")
    p.add_argument(
        "--bench-board",
        default=None,
        help="run the board axis's cores on this board of the bench file (one cell at a time)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per cell")
    out.add_argument("--markdown", action="store_true", help="a Markdown table")
    _bench_options(p)


def _defines(pairs: list[str]) -> dict[str, str]:
    from harness.model.errors import ConfigError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError(
                f"--define {pair!r} is not KEY=VALUE", fix="e.g. --define HIL_TRUST=2"
            )
        out[key] = value
    return out


def _with_bench_board(config, bench_option: str | None, board: str | None):
    """The configuration with the bench file and the board the runs go to."""
    from harness.instruments.boards.bench import bench_path, load_bench

    path = bench_path(bench_option)
    if board is None:
        return config if path is None else replace(config, bench=load_bench(path))
    if path is None:
        raise ConfigError(
            f"--bench-board {board} without a bench file",
            fix="name it: --bench FILE or HIL_BENCH",
        )
    bench = load_bench(path)
    bench.board(board)  # unknown: the error lists the bench's boards
    return replace(config, bench=bench, bench_board=board)


@command("matrix", "run sketches x boards x profiles as one table")
@options(_matrix_options)
def cmd_matrix(args: argparse.Namespace) -> int:
    from harness.analysis import matrix_report
    from harness.run.matrix import resolve, run_matrix

    bench = _with_bench_board(_bench(args), args.bench, args.bench_board)
    req = resolve(
        args.sketch, args.board, args.profile, bench, defines=_defines(args.define),
        backend=args.backend, cell_timeout=args.cell_timeout, workers=args.jobs,
        agent=args.agent,
    )  # fmt: skip

    def progress(cell, done: int, total: int) -> None:
        label = matrix_report.cell_label(cell)
        where = f"{cell.sketch} on {cell.board} x {cell.profile}"
        print(f"[{done}/{total}] {where}: {label}", file=sys.stderr)

    result = run_matrix(req, bench, progress=progress)
    if args.json:
        print(matrix_report.render_json_lines(result.cells), end="")
    elif args.markdown:
        print(matrix_report.render_markdown(result.cells), end="")
    else:
        print(matrix_report.render_text(result.cells), end="")
    print(f"tables: {result.directory / 'matrix.html'}", file=sys.stderr)
    if result.interrupted:
        raise KeyboardInterrupt
    return 3 if any(c.outcome.value == "error" for c in result.cells) else 0


def _bisect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sketch", required=True, help="sketch folder name")
    p.add_argument("--profile", required=True, help="server profile")
    p.add_argument("--family", required=True, help="esp8266 or esp32")
    p.add_argument("--good", required=True, help="a version with the old outcome")
    p.add_argument("--bad", required=True, help="a version with the new outcome")
    p.add_argument("--define", action="append", default=[], help="sketch macro KEY=VALUE")
    p.add_argument("--backend", default="builtin", help="server backend (builtin, apache, tlslite)")
    p.add_argument("--json", action="store_true", help="the result as JSON")
    _bench_options(p)


@command("bisect", "find the first core release whose outcome differs from a good one")
@options(_bisect_options)
def cmd_bisect(args: argparse.Namespace) -> int:
    from harness.analysis.timeline_diff import diagnosis_lines, side_by_side
    from harness.run.bisect import BisectRequest, bisect, outcome_label, result_json

    req = BisectRequest(
        args.sketch, args.profile, args.family, args.good, args.bad,
        defines=_defines(args.define), backend=args.backend,
    )  # fmt: skip
    result = bisect(req, _bench(args), progress=lambda v, o: print(f"{v}: {o}", file=sys.stderr))
    if args.json:
        print(json.dumps(result_json(result), indent=2))
        return 0
    after = result.first_changed or args.bad
    if result.first_changed is None:
        print(
            f"no change between {args.good} and {args.bad}: {args.good} "
            f"{outcome_label(result.before)}, {args.bad} {outcome_label(result.after)}"
        )
    else:
        print(f"first version whose outcome differs from {args.good}: {result.first_changed}")
        print(f"(last with {args.good}'s outcome: {result.last_same})\n")
    print(
        side_by_side(
            f"{args.family} {result.last_same}",
            diagnosis_lines(outcome_label(result.before), result.before.diagnosis),
            f"{args.family} {after}",
            diagnosis_lines(outcome_label(result.after), result.after.diagnosis),
        )
    )
    print("Differences between the timelines:")
    print("\n".join(f"  - {d}" for d in result.differences) or "  (none the diff knows)")
    print(f"runs: {result.before.run_dir}\n      {result.after.run_dir}")
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


def exit_code(exc: HilError) -> int:
    """2 for what the user gave (an option, a file, a name), 3 for what the machine lacks."""
    return EXIT_BAD_INPUT if isinstance(exc, ConfigError | NetworkSafetyError) else EXIT_ENVIRONMENT


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`hil profiles | head -3`): nothing more to say, and the
        # interpreter must not fail flushing stdout at exit either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Long steps (the first build) say what they do on stderr, stdout stays the result.
        progress = logging.StreamHandler(sys.stderr)
        progress.setFormatter(logging.Formatter(f"hil {args.command}: %(message)s"))
        logger = logging.getLogger("harness.progress")
        logger.addHandler(progress)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler of main()
        return code
    except HilError as exc:
        print(f"hil {args.command}: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print(f"hil {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except OSError as exc:
        # A folder or file of the environment (read-only, full, vanished): no traceback.
        where = exc.filename or "a file"
        print(
            f"hil {args.command}: cannot use {where}: {exc.strerror or exc}\n"
            "  fix: check the path exists and is writable (see the options --runs-dir, "
            "--cache-dir, --out)",
            file=sys.stderr,
        )
        return EXIT_ENVIRONMENT


if __name__ == "__main__":
    sys.exit(main())
