"""What a run directory was a run of (layer 4): `scenario.json`, written first.

The golden comparison reads it back to know the run's board (and so the core
release it is, or imitates), its profile and backend, without guessing from
file names; `hil golden record` copies it into the golden's case.toml.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.model import Expectation, Scenario
from harness.model.errors import ConfigError

RUN_INFO = "scenario.json"


def harness_version() -> str:
    try:
        return metadata.version("esp-tls-hil")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class RunInfo:
    scenario: Scenario
    host: str  # the server address the sketch was given
    harness_version: str


def write_run_info(scenario: Scenario, host: str, run_dir: Path) -> None:
    data: dict[str, Any] = {
        "name": scenario.name,
        "description": scenario.description,
        "sketch": scenario.sketch,
        "board": scenario.board,
        "profile": scenario.profile,
        "backend": scenario.backend,
        "cert_plan": scenario.cert_plan,
        "defines": dict(scenario.defines),
        "server_name": scenario.server_name,
        "expect": scenario.expectation.to_json(),
        "host": host,
        "harness_version": harness_version(),
    }
    (run_dir / RUN_INFO).write_text(json.dumps(data, indent=2) + "\n")


def read_run_info(run_dir: Path) -> RunInfo:
    path = run_dir / RUN_INFO
    if not run_dir.is_dir():
        raise ConfigError(
            f"{run_dir} is not a directory",
            fix="pass a run directory (hil-runs/<stamp>-<scenario>)",
        )
    if not path.is_file():
        raise ConfigError(
            f"{run_dir} is not a run directory: it has no {RUN_INFO}",
            seen=", ".join(sorted(p.name for p in run_dir.iterdir())[:8]) or "an empty folder",
            fix="pass a directory that `hil run` made (hil-runs/<stamp>-<scenario>); "
            "runs made before scenario.json existed must be run again",
        )
    try:
        data = json.loads(path.read_text())
        expect = data["expect"]
        scenario = Scenario(
            name=data["name"],
            description=data.get("description", ""),
            sketch=data["sketch"],
            board=data["board"],
            profile=data["profile"],
            expectation=Expectation(connected=bool(expect["connected"]), cause=expect["cause"]),
            cert_plan=data.get("cert_plan"),
            backend=data.get("backend", "builtin"),
            defines=dict(data.get("defines", {})),
            server_name=data.get("server_name"),
        )
        return RunInfo(scenario, str(data["host"]), str(data.get("harness_version", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} cannot be read as a run's scenario",
            seen=f"{type(exc).__name__}: {exc}",
            fix="the run directory is damaged; run the scenario again",
        ) from None
