"""Scenarios as data: one TOML file each in this folder, validated on load."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from harness.model import Expectation, Scenario
from harness.model.causes import CAUSES
from harness.model.errors import ConfigError

SCENARIO_DIR = Path(__file__).resolve().parent

_TOP_KEYS = {
    "description": str,
    "source": str,
    "sketch": str,
    "board": str,
    "profile": str,
    "cert_plan": str,
    "backend": str,
    "expect": dict,
    "defines": dict,
}
_REQUIRED = ("description", "sketch", "board", "profile", "expect")
_MACRO = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_scenario(name: str, directory: Path = SCENARIO_DIR) -> Scenario:
    path = directory / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown scenario {name!r}",
            seen=f"no {path}",
            fix=f"use one of: {', '.join(list_scenarios(directory))} (hil run --list)",
        )
    return parse_scenario(name, path.read_text(), path)


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
    return Scenario(
        name=name,
        description=data["description"],
        sketch=data["sketch"],
        board=data["board"],
        profile=data["profile"],
        expectation=_expectation(data["expect"], path),
        cert_plan=data.get("cert_plan"),
        backend=data.get("backend", "builtin"),
        defines=_defines(data.get("defines", {}), path),
    )


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
