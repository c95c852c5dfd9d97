"""Scenarios as data: one TOML file each in this folder, validated on load."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from harness.model import Expectation, Scenario
from harness.model.causes import CAUSES
from harness.model.cores import releases
from harness.model.errors import ConfigError
from harness.model.records import SCENARIO_GROUPS

SCENARIO_DIR = Path(__file__).resolve().parent

_TOP_KEYS = {
    "description": str,
    "source": str,
    "sketch": str,
    "board": str,
    "profile": str,
    "cert_plan": str,
    "server_name": str,
    "backend": str,
    "expect": dict,
    "defines": dict,
    "group": str,
    "quote": str,
}
_REQUIRED = ("description", "sketch", "board", "profile", "expect")
_MACRO = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# A scenario's name becomes part of a run folder's name and a cache file's: letters,
# digits, dot, dash and underscore only, never a path.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml") if NAME.match(p.stem))


def load_scenario(name: str, directory: Path = SCENARIO_DIR) -> Scenario:
    """A scenario of the catalogue, by name (never a path: see load_scenario_file), or
    `name@<core id>`: the scenario on that core's twin, expecting what the scenario
    expects of that core (e.g. `ip-san-name-check-2.5@esp8266-2.5.2`)."""
    if "@" in name:
        base, core = name.split("@", 1)
        return on_core(load_scenario(base, directory), core)
    known = list_scenarios(directory)
    if name not in known:
        looks_like_path = "/" in name or name.endswith(".toml")
        raise ConfigError(
            f"unknown scenario {name!r}",
            seen="a path, not a name" if looks_like_path else f"not in {directory}",
            fix=f"use one of: {', '.join(known)} (hil run --list)"
            + ("; for a file of your own: --scenario-file PATH" if looks_like_path else ""),
        )
    path = directory / f"{name}.toml"
    return parse_scenario(name, _read(path), path)


def load_scenario_file(path: Path) -> Scenario:
    """A scenario from a file of the user's; named by the file's stem, which must be a
    safe name (it names the run folders)."""
    if not path.is_file():
        raise ConfigError(
            f"scenario file {path} does not exist" + (" (a folder)" if path.is_dir() else ""),
            fix="give --scenario-file the path of a .toml file",
        )
    if not NAME.match(path.stem):
        raise ConfigError(
            f"scenario file {path}: its name {path.stem!r} cannot name a run folder",
            fix="rename the file to letters, digits, '.', '-' and '_' only",
        )
    return parse_scenario(path.stem, _read(path), path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a text file",
            seen=f"byte {exc.start} is not UTF-8",
            fix="give a TOML scenario file (see harness/run/scenarios/founding-report.toml)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read scenario file {path}", seen=exc.strerror or str(exc), fix="check the path"
        ) from None


def parse_scenario(name: str, text: str, path: Path) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML", seen=str(exc), fix="fix the syntax") from None
    for key, value in data.items():
        kind = _TOP_KEYS.get(key)
        if kind is None:
            raise ConfigError(
                f"{path}: unknown key {key!r}",
                fix=f"use only: {', '.join(sorted(_TOP_KEYS))}",
            )
        if not isinstance(value, kind):
            raise ConfigError(
                f"{path}: key {key!r} must be a {kind.__name__}",
                seen=repr(value),
                fix="see harness/run/scenarios/founding-report.toml for the shape",
            )
    for key in _REQUIRED:
        if key not in data:
            raise ConfigError(f"{path}: missing key {key!r}", fix=f"add {key} = ...")
    if not NAME.match(data["sketch"]):
        raise ConfigError(
            f"{path}: key 'sketch' must name a folder of the sketches folder",
            seen=repr(data["sketch"]),
            fix='the folder\'s name only, e.g. sketch = "founding_report"',
        )
    group = data.get("group", SCENARIO_GROUPS[0])
    if group not in SCENARIO_GROUPS:
        raise ConfigError(
            f"{path}: group {group!r} is not one of {', '.join(SCENARIO_GROUPS)}",
            fix=f'write e.g. group = "{SCENARIO_GROUPS[1]}"',
        )
    expect = data["expect"]
    by_core = _by_core(expect, path)
    flat = {k: v for k, v in expect.items() if not isinstance(v, dict)}
    if by_core and "connected" not in flat:
        # Only per-core expectations: the scenario's own board is the first core named.
        expectation = next(iter(by_core.values()))
    else:
        expectation = _expectation(flat, path)
    return Scenario(
        name=name,
        description=data["description"],
        sketch=data["sketch"],
        board=data["board"],
        profile=data["profile"],
        expectation=expectation,
        cert_plan=data.get("cert_plan"),
        backend=data.get("backend", "builtin"),
        defines=_defines(data.get("defines", {}), path),
        server_name=data.get("server_name"),
        group=group,
        source=data.get("source", ""),
        quote=data.get("quote", ""),
        by_core=by_core,
    )


def twin_board(core_id: str) -> str:
    """The twin board of a core release (harness/model/cores)."""
    return f"twin-{core_id}"


def on_core(scenario: Scenario, core_id: str) -> Scenario:
    """`scenario` on the twin of `core_id`; a core the scenario does not name is refused."""
    if core_id not in scenario.by_core:
        named = ", ".join(scenario.cores) or "none (it has one [expect] for its own board)"
        raise ConfigError(
            f"scenario {scenario.name!r} names no expectation for core {core_id!r}",
            fix=f"use one of the cores it names: {named}",
        )
    return scenario.on_core(core_id, twin_board(core_id))


def scenario_groups(directory: Path = SCENARIO_DIR) -> dict[str, list[str]]:
    """The scenarios by group, groups in SCENARIO_GROUPS order (for `hil run --list`)."""
    out: dict[str, list[str]] = {g: [] for g in SCENARIO_GROUPS}
    for name in list_scenarios(directory):
        out[load_scenario(name, directory).group].append(name)
    return out


def _by_core(expect: dict[str, Any], path: Path) -> dict[str, Expectation]:
    """`[expect."esp8266-2.4.2"]` tables: the expectation on each named core release."""
    known = [r.id for r in releases()]
    out: dict[str, Expectation] = {}
    for key, value in expect.items():
        if not isinstance(value, dict):
            continue
        if key not in known:
            raise ConfigError(
                f"{path}: [expect.{key!r}] names no modelled core release",
                fix=f"use one of: {', '.join(known)} (harness/model/cores)",
            )
        out[key] = _expectation(value, path)
    return out


def _expectation(raw: dict[str, Any], path: Path) -> Expectation:
    unknown = set(raw) - {"connected", "cause"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) in [expect]: {', '.join(sorted(unknown))}",
            fix="[expect] takes connected (bool) and cause (a catalogue cause)",
        )
    connected = raw.get("connected")
    if not isinstance(connected, bool):
        raise ConfigError(
            f"{path}: [expect] connected must be true or false",
            seen=repr(connected),
            fix="connected = false",
        )
    cause = raw.get("cause")
    if cause is not None and cause not in CAUSES:
        raise ConfigError(
            f"{path}: [expect] cause {cause!r} is not in the catalogue",
            fix=f"use one of: {', '.join(sorted(CAUSES))}",
        )
    return Expectation(connected=connected, cause=cause)


def _defines(raw: dict[str, Any], path: Path) -> dict[str, str]:
    out = {}
    for key, value in raw.items():
        if not _MACRO.match(key) or not isinstance(value, str):
            raise ConfigError(
                f"{path}: [defines] {key} = {value!r} is not a macro name with a string value",
                fix='write e.g. HIL_SET_CLOCK = "1"',
            )
        out[key] = value
    return out
