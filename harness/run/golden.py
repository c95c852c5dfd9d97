"""Golden recordings (layer 4): compare a run with one, keep a run as one.

A golden is a subset of a run directory (capture.pcapng, keylog.txt, serial.log,
server.log, client_hello.hex) plus case.toml and PROVENANCE.md; the format is
tests/data/golden/FORMAT.md. This module reads the files, has tshark extract the
segments and the decrypted records, and hands plain data to the pure comparison
in harness.analysis.golden.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.analysis.golden import (
    SEGMENT_FIELDS,
    GoldenReport,
    KnownDifference,
    Recording,
    build_recording,
    classify,
    compare,
    parse_decrypted,
    parse_known,
    parse_segments,
)
from harness.analysis.logformats.lines import read_serial_log
from harness.analysis.serverlog import parse_server_log
from harness.instruments.boards import BOARDS, get_board_spec
from harness.instruments.boards.base import BoardSpec, core_id
from harness.instruments.tshark import read_decrypted_dump, read_fields, write_filtered
from harness.model import Expectation, Scenario
from harness.model.errors import ConfigError
from harness.model.sketches import core_family, default_sketch
from harness.run.runinfo import RunInfo, harness_version, read_run_info

log = logging.getLogger(__name__)

TWIN_DIR = Path(__file__).resolve().parents[1] / "twin"
CAPTURE, KEYLOG, SERIAL, SERVER = "capture.pcapng", "keylog.txt", "serial.log", "server.log"
CLIENT_HELLO, CASE, PROVENANCE = "client_hello.hex", "case.toml", "PROVENANCE.md"
NEEDED = (CAPTURE, SERIAL, SERVER)  # without these there is nothing to compare


@dataclass(frozen=True)
class Loaded:
    """A run or golden directory, read: the recording and the port it used."""

    directory: Path
    recording: Recording


def load_case(golden_dir: Path) -> dict[str, Any]:
    """The golden's case.toml; `core` and `profile` must be there."""
    path = golden_dir / CASE
    if not path.is_file():
        raise ConfigError(
            f"{golden_dir} is not a golden recording: it has no {CASE}",
            fix="pass a directory made by `hil golden record` or one of tests/data/golden/*/*",
        )
    try:
        case = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML", seen=str(exc), fix="fix it") from None
    for key in ("core", "profile"):
        if not isinstance(case.get(key), str) or not case[key]:
            raise ConfigError(f"{path}: no {key!r}", fix=f'add {key} = "..." (see FORMAT.md)')
    return case


def server_port(directory: Path) -> int:
    path = directory / SERVER
    events = parse_server_log(path.read_text(errors="replace"))
    port = next((e.fields.get("port") for e in events if e.kind == "server_listening"), None)
    if not isinstance(port, int) or not port:
        raise ConfigError(
            f"{path} does not say where the server listened",
            seen=f"{len(events)} events, none `listening` with a port",
            fix="the server log is the one `hil run`/`hil serve` wrote; copy it whole",
        )
    return port


def _need(directory: Path, what: str) -> None:
    if not directory.is_dir():
        raise ConfigError(f"{what} {directory} is not a directory", fix="check the path")
    missing = [name for name in NEEDED if not (directory / name).is_file()]
    if missing:
        raise ConfigError(
            f"{what} {directory} lacks {', '.join(missing)}",
            seen=", ".join(sorted(p.name for p in directory.iterdir())[:10]) or "nothing",
            fix=f"a {what} holds {', '.join(NEEDED)} (and keylog.txt); record it again",
        )


def load(directory: Path, what: str, *, timeout: float = 120.0) -> Loaded:
    """Read `directory` (a run or a golden) into a Recording; a capture cut short is
    refused, since a comparison against half a connection says nothing."""
    _need(directory, what)
    port = server_port(directory)
    lines = read_serial_log((directory / SERIAL).read_text(errors="replace"))
    pcap, keylog = directory / CAPTURE, directory / KEYLOG
    with tempfile.TemporaryDirectory(prefix="hil-golden-") as tmp:
        fields = read_fields(
            pcap,
            keylog=keylog if keylog.is_file() else None,
            fields=SEGMENT_FIELDS,
            display_filter=f"tcp.port == {port}",
            tls_ports=(port,),
            log_path=Path(tmp) / "tshark.log",
            timeout=timeout,
        )
        if fields.partial:
            raise ConfigError(
                f"the capture of {what} {directory} was cut short",
                seen="; ".join(fields.warnings[-2:]),
                fix="a golden needs every packet: record it again (stop dumpcap at least "
                "1.5 s after the last packet)",
            )
        decrypted = None
        if keylog.is_file() and keylog.stat().st_size:
            dump = read_decrypted_dump(
                pcap,
                keylog=keylog,
                display_filter=f"tcp.dstport == {port}",
                tls_ports=(port,),
                log_path=Path(tmp) / "tshark-x.log",
                timeout=timeout,
            )
            decrypted = parse_decrypted(dump.text)
    wire = build_recording(parse_segments(fields.text, port), decrypted)
    day = datetime.fromtimestamp(lines[0].t, UTC).date() if lines else None
    return Loaded(directory, Recording(wire, tuple(x.text for x in lines), port, day))


def known_differences(twin_dir: Path = TWIN_DIR) -> tuple[KnownDifference, ...]:
    """Every known-differences block of the twin's FIDELITY files."""
    out: list[KnownDifference] = []
    for path in sorted(twin_dir.glob("FIDELITY*.md")):
        out += parse_known(path.read_text(), str(path))
    return tuple(out)


def boards_of_core(core: str) -> list[str]:
    return sorted(name for name, spec in BOARDS.items() if core_id(spec) == core)


def _check_match(info: RunInfo, spec: BoardSpec, case: dict[str, Any], golden: Path) -> None:
    """Refuse a golden of another core, profile or backend: its differences would be
    the bench's, not the stack's."""
    core = core_id(spec)
    if case["core"] != core:
        others = boards_of_core(case["core"])
        raise ConfigError(
            f"golden {golden} was recorded on core {case['core']}, but the run's board "
            f"{spec.name} is core {core or '(none)'}",
            fix=(
                f"run on a board of core {case['core']} ({', '.join(others)})"
                if others
                else f"no board in the registry is core {case['core']} yet"
            )
            + f", or compare with a golden of core {core} (tests/data/golden/{core}/)",
        )
    dialed = info.scenario.server_name or info.host
    want_host = str(case.get("host", "") or dialed)
    if want_host != dialed and not (_is_address(want_host) and _is_address(dialed)):
        raise ConfigError(
            f"golden {golden} was recorded dialing {want_host!r}, the run dialed {dialed!r}",
            fix="a name and an address take different paths (SNI, the certificate's name "
            f"check): run with the sketch dialing {want_host!r}, or pick another golden",
        )
    for key, got in (("profile", info.scenario.profile), ("backend", info.scenario.backend)):
        want = case.get(key, "builtin" if key == "backend" else None)
        if want != got:
            raise ConfigError(
                f"golden {golden} was recorded against {key} {want!r}, the run used {got!r}",
                fix=f"run with --{key} {want}, or pick a golden of {key} {got}",
            )


def check(
    run_dir: Path, golden_dir: Path, *, known: tuple[KnownDifference, ...] | None = None
) -> GoldenReport:
    """Compare the run in `run_dir` with the golden in `golden_dir`."""
    run_dir, golden_dir = Path(run_dir), Path(golden_dir)
    info = read_run_info(run_dir)
    spec = get_board_spec(info.scenario.board)
    case = load_case(golden_dir)
    _check_match(info, spec, case, golden_dir)
    case_personality(spec, case)  # refuse a stack the board lacks before reading captures
    expected = load(golden_dir, "golden")
    got = load(run_dir, "run")
    report = compare(expected.recording, got.recording, golden=str(golden_dir), run=str(run_dir))
    return classify(
        report, known_differences() if known is None else known, case_personality(spec, case)
    )


def case_stack(spec: BoardSpec, case: dict[str, Any]) -> str:
    """The stack a case was recorded with: its case.toml's `stack`, else the board's.
    A release with two classes (core 2.4.2: axTLS and BearSSL::) has goldens of both."""
    return str(case.get("stack") or spec.stack)


def case_personality(spec: BoardSpec, case: dict[str, Any]) -> str:
    """The twin personality that answers for a case: the board's release's class on the
    case's stack (its known differences are that personality's FIDELITY file's)."""
    stack = case_stack(spec, case)
    cls = spec.core.personality_release(stack) if spec.core is not None else None
    if cls is None:
        raise ConfigError(
            f"the golden was recorded with {stack}, which board {spec.name} does not have",
            fix=f"compare it on a board whose core release has a {stack} class",
        )
    return cls.personality


# -- a run for a golden's case ------------------------------------------------------------


@dataclass(frozen=True)
class CaseSwitches:
    """How a default sketch repeats what a golden's case.toml (FORMAT.md) says the
    recorded sketch did: case (key, value) -> defines, a call of the case's `calls`
    (by its start) -> defines, and the trust methods it knows."""

    by_key: tuple[tuple[str, str, dict[str, str]], ...]
    by_call: tuple[tuple[str, dict[str, str]], ...]
    trusts: tuple[str, ...]
    base: dict[str, str]  # before any switch, e.g. the clock off
    connects: tuple[str, ...] = ("name", "ip")  # the case's connect_by values it repeats


# The sketch that repeats the goldens of a core family and stack: the recorders of the
# BearSSL and arduino-esp32 goldens ran sketches of their own (their Serial lines are
# not the default sketch's), each copied for the twin. Others use the default sketch.
CASE_SKETCHES: dict[tuple[str, str], str] = {
    ("esp8266", "bearssl"): "golden_esp8266_bearssl",
    ("esp32", "mbedtls"): "golden_esp32",
}


def _mode(name: str) -> dict[str, str]:
    return {"HIL_GOLDEN_MODE": json.dumps(name)}


def _trust(name: str) -> dict[str, str]:
    return {"HIL_GOLDEN_TRUST": json.dumps(name)}


# Sketch -> its switches; a personality's sketch adds its own entry.
CASE_SWITCHES: dict[str, CaseSwitches] = {
    "golden_esp8266_bearssl": CaseSwitches(
        by_key=(
            ("connect_by", "ip", {"HIL_CONNECT_BY_IP": "1"}),
            ("trust", "insecure", _mode("insecure")),
            ("trust", "fingerprint", _mode("fingerprint")),
            ("trust", "none", _mode("none")),
        ),
        by_call=(
            ("setCiphersLessSecure(", _mode("lesssecure")),
            ("probeMaxFragmentLength(", _mode("mfln")),
            ("HTTPClient.begin(", _mode("httpclient")),
            # Core 2.4.2's names, as its recorder used them (the cases' PROVENANCE.md).
            ("new BearSSLX509List(", {"HIL_GOLDEN_X509_GLOBAL_NAME": "1"}),
            ("setFingerprint(sha1_bytes)", {"HIL_GOLDEN_FP_BYTES": "1"}),
        ),
        trusts=("ca", "insecure", "fingerprint", "none"),
        base={**_mode("ca"), "HIL_CONNECT_BY_IP": "0"},
    ),
    # Every esp32 case dials a host string (connect(host, port)): by address or, in the
    # --dnsname cases, by the name `localhost` (Scenario.server_name).
    "golden_esp32": CaseSwitches(
        by_key=(
            ("trust", "insecure", _trust("insecure")),
            ("trust", "none", _trust("none")),
        ),
        by_call=(),
        trusts=("ca", "insecure", "none"),
        base=_trust("ca"),
        connects=("name",),
    ),
    "https_get_esp8266_axtls": CaseSwitches(
        by_key=(
            ("connect_by", "ip", {"HIL_CONNECT_BY_IP": "1"}),
            ("trust", "fingerprint", {"HIL_TRUST_FINGERPRINT": "1"}),
            ("trust", "none", {"HIL_TRUST_NONE": "1"}),
        ),
        by_call=(
            ("configTime(", {"HIL_SET_CLOCK": "1"}),
            ("read() while", {"HIL_READ_BODY": "1"}),
        ),
        trusts=("ca", "fingerprint", "none"),
        base={"HIL_SET_CLOCK": "0"},
    ),
}


def _switches(case: dict[str, Any], sketch: str, name: str) -> dict[str, str]:
    switches = CASE_SWITCHES.get(sketch)
    if switches is None:
        raise ConfigError(
            f"case {name}: the default sketch {sketch} has no case switches",
            fix=f"add an entry for {sketch} to CASE_SWITCHES in harness/run/golden.py",
        )
    if case.get("trust", "ca") not in switches.trusts:
        raise ConfigError(
            f"case {name}: trust {case.get('trust')!r} has no switch in {sketch}",
            fix=f"record it with one of {', '.join(switches.trusts)}, or add a switch",
        )
    if case.get("connect_by", "name") not in switches.connects:
        raise ConfigError(
            f"case {name}: connect_by {case.get('connect_by')!r} has no switch in {sketch}",
            fix=f"record it with connect_by one of {', '.join(switches.connects)}, or add a switch",
        )
    defines = dict(switches.base)
    for key, value, switch in switches.by_key:
        if case.get(key) == value:
            defines.update(switch)
    for start, switch in switches.by_call:
        if any(str(call).startswith(start) for call in case.get("calls", [])):
            defines.update(switch)
    return defines


def scenario_for_case(case: dict[str, Any], board: str, name: str) -> Scenario:
    """The scenario that repeats a golden's case on `board`: its profile and backend,
    and the board's default sketch switched to the recorded behaviour. A case that
    `hil golden record` wrote names its sketch and defines, and those are used."""
    spec = get_board_spec(board)
    if case.get("sketch"):
        sketch, defines = str(case["sketch"]), dict(case.get("defines", {}))
    else:
        core = core_id(spec)
        stack = case_stack(spec, case)
        sketch = CASE_SKETCHES.get((core_family(core), stack)) or default_sketch(
            spec.name, core, stack
        )
        defines = _switches(case, sketch, name)
    host = str(case.get("host", ""))
    return Scenario(
        name=f"golden-{case['core']}-{name}",
        description=f"the golden case {case['core']}/{name} on {board}",
        sketch=sketch,
        board=board,
        profile=str(case["profile"]),
        expectation=Expectation(connected=bool(case.get("connected", False))),
        backend=str(case.get("backend", "builtin")),
        defines=defines,
        # A golden that dialed a name is repeated by that name (SNI and the certificate's
        # name check take another path than for an address).
        server_name=host if host and not _is_address(host) else None,
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- record ------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a JSON string is a TOML basic string


def case_toml(info: RunInfo, spec: BoardSpec, verdict: dict[str, Any]) -> str:
    observed = verdict.get("observed", {})
    s = info.scenario
    fields: dict[str, Any] = {
        "core": core_id(spec),
        "stack": spec.stack,
        "profile": s.profile,
        "backend": s.backend,
        "host": info.host,
        "board": spec.name,
        "sketch": s.sketch,
        "connected": bool(observed.get("connected", False)),
        "cause": observed.get("cause") or "",
        "notes": f"recorded by `hil golden record` from run {s.name}",
    }
    if s.cert_plan:
        fields["cert_plan"] = s.cert_plan
    lines = [f"{k} = {_toml_value(v)}" for k, v in fields.items()]
    if s.defines:
        lines += ["", "[defines]"] + [f"{k} = {_toml_value(v)}" for k, v in s.defines.items()]
    return "\n".join(lines) + "\n"


def provenance(info: RunInfo, spec: BoardSpec, run_dir: Path, port: int) -> str:
    s = info.scenario
    core = core_id(spec)
    return (
        f"# Provenance: {s.profile} on {core or spec.name}\n\n"
        f"Recorded by `hil golden record` (esp-tls-hil {harness_version()}) from a run of\n"
        f"board `{spec.name}` ({spec.description or spec.kind}; core {core or '-'},\n"
        f"stack {spec.stack}), run by esp-tls-hil {info.harness_version or 'unknown'}.\n\n"
        f"- run directory: `{run_dir}`\n"
        f"- scenario: `{s.name}`, sketch `{s.sketch}`, profile `{s.profile}` on the\n"
        f"  `{s.backend}` backend, server {info.host}:{port}\n"
        f"- defines: {', '.join(f'{k}={v}' for k, v in s.defines.items()) or 'none'}\n"
        f"- capture: the run's capture, packets of tcp port {port} only\n"
        f"- recorded: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}\n\n"
        "Only recordings of the harness's own traffic; no third-party code or text.\n"
    )


def record(run_dir: Path, dest: Path) -> Path:
    """Keep the run in `run_dir` as a golden in `dest` (which must not hold one yet)."""
    run_dir, dest = Path(run_dir), Path(dest)
    info = read_run_info(run_dir)
    spec = get_board_spec(info.scenario.board)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(
            f"{dest} exists and is not an empty directory",
            fix="choose a new directory for the golden, or remove the old one first",
        )
    loaded = load(run_dir, "run")
    conns = loaded.recording.wire.connections
    # A sketch that fails before any packet (no trust method on ESP32) is a case too:
    # its client_hello.hex is empty, as in the recordings of the real stacks.
    hello = conns[0].records[0].raw.hex() if conns and conns[0].records else ""
    try:
        verdict = json.loads((run_dir / "verdict.json").read_text())
    except (OSError, ValueError):
        verdict = {}
    port = loaded.recording.server_port
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Written next to dest and renamed at the end: no half-written golden is left behind.
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        write_filtered(
            run_dir / CAPTURE,
            tmp / CAPTURE,
            display_filter=f"tcp.port == {port}",
            log_path=None,
        )
        for name in (SERIAL, SERVER, KEYLOG):
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, tmp / name)
            else:
                (tmp / name).write_text("")
        (tmp / CLIENT_HELLO).write_text(hello + "\n" if hello else "")
        (tmp / CASE).write_text(case_toml(info, spec, verdict))
        (tmp / PROVENANCE).write_text(provenance(info, spec, run_dir, port))
        if dest.exists():
            dest.rmdir()
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
