"""`hil bisect`: the first core release of a family whose outcome differs from a known good
one, for one sketch against one server profile (layer 4).

The releases come from harness/model/cores; between the good and the bad version the search
halves the range, so it assumes the outcome changes once in it (a regression, not a flicker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from harness.analysis.timeline_diff import diff_timelines
from harness.model import Expectation, Outcome, RunRecord, Scenario
from harness.model.cores import FAMILIES, releases
from harness.model.errors import ConfigError, HilError
from harness.model.sketches import DEFAULT_SERVER_NAME
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import twin_board

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BisectRequest:
    sketch: str
    profile: str
    family: str
    good: str  # a version, e.g. "2.4.2"
    bad: str
    defines: Mapping[str, str] = field(default_factory=dict)
    backend: str = "builtin"


@dataclass(frozen=True)
class BisectResult:
    request: BisectRequest
    tried: tuple[tuple[str, str], ...]  # (version, outcome label), in the order run
    first_changed: str | None  # None: good and bad come out the same
    last_same: str
    before: RunRecord  # the run of last_same
    after: RunRecord  # the run of first_changed (or of bad, when nothing changed)
    differences: tuple[str, ...]


def family_versions(family: str) -> list[str]:
    if family not in FAMILIES:
        raise ConfigError(f"unknown family {family!r}", fix=f"use one of: {', '.join(FAMILIES)}")
    return [r.version for r in releases() if r.family == family]


def outcome_label(record: RunRecord) -> str:
    """What bisect compares: connected, the failure's cause, or the run's error."""
    if record.verdict.outcome is Outcome.ERROR:
        return "error"
    if record.diagnosis.connected:
        return "connected"
    return f"failed: {record.diagnosis.cause or 'unknown'}"


def check(req: BisectRequest) -> list[str]:
    """The versions from good to bad, both included; bad input refused before any run."""
    versions = family_versions(req.family)
    for which, v in (("--good", req.good), ("--bad", req.bad)):
        if v not in versions:
            raise ConfigError(
                f"{which} {v!r} is not among the {req.family} releases the harness models",
                fix=f"use one of: {', '.join(versions)} (harness/model/cores)",
            )
    lo, hi = versions.index(req.good), versions.index(req.bad)
    if lo == hi:
        raise ConfigError(
            f"--good and --bad are both {req.good}", fix="give two different versions"
        )
    # A good version newer than the bad one bisects backwards (when did a fix come in).
    return versions[lo : hi + 1] if lo < hi else versions[hi : lo + 1][::-1]


def bisect(
    req: BisectRequest,
    config: BenchConfig,
    *,
    progress: Callable[[str, str], None] | None = None,
) -> BisectResult:
    span = check(req)
    records: dict[str, RunRecord] = {}
    tried: list[tuple[str, str]] = []

    def run(version: str) -> str:
        if version not in records:
            core = f"{req.family}-{version}"
            scenario = Scenario(
                name=f"bisect.{req.sketch}.{req.profile}@{core}",
                description=f"bisect: {req.sketch} on {core} against {req.profile}",
                sketch=req.sketch,
                board=twin_board(core),
                profile=req.profile,
                expectation=Expectation(connected=True),
                backend=req.backend,
                defines=dict(req.defines),
                server_name=DEFAULT_SERVER_NAME,  # a host name: see model/sketches.py
            )
            records[version] = run_scenario(scenario, config)
            label = outcome_label(records[version])
            tried.append((version, label))
            if progress:
                progress(version, label)
        return outcome_label(records[version])

    good = run(span[0])
    if good == "error":
        raise HilError(
            f"the run on the good version {span[0]} could not complete",
            seen=records[span[0]].verdict.reason,
            fix=f"see its run directory {records[span[0]].run_dir}",
        )
    if run(span[-1]) == good:
        return _result(req, tried, None, span[0], records[span[0]], records[span[-1]])
    lo, hi = 0, len(span) - 1  # span[lo] is like good, span[hi] is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if run(span[mid]) == good:
            lo = mid
        else:
            hi = mid
    return _result(req, tried, span[hi], span[lo], records[span[lo]], records[span[hi]])


def _result(
    req: BisectRequest,
    tried: list[tuple[str, str]],
    first_changed: str | None,
    last_same: str,
    before: RunRecord,
    after: RunRecord,
) -> BisectResult:
    after_version = first_changed or req.bad
    diffs = diff_timelines(before.timeline, after.timeline, last_same, after_version)
    return BisectResult(req, tuple(tried), first_changed, last_same, before, after, tuple(diffs))


def result_json(result: BisectResult) -> dict:
    req = result.request
    return {
        "family": req.family,
        "sketch": req.sketch,
        "profile": req.profile,
        "good": req.good,
        "bad": req.bad,
        "changed": result.first_changed is not None,
        "first_changed": result.first_changed,
        "last_same": result.last_same,
        "tried": [{"version": v, "outcome": o} for v, o in result.tried],
        "before": {
            "version": result.last_same,
            "outcome": outcome_label(result.before),
            "diagnosis": result.before.diagnosis.to_json(),
            "run_dir": str(result.before.run_dir),
        },
        "after": {
            "version": result.first_changed or req.bad,
            "outcome": outcome_label(result.after),
            "diagnosis": result.after.diagnosis.to_json(),
            "run_dir": str(result.after.run_dir),
        },
        "differences": list(result.differences),
    }
