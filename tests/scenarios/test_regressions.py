"""The regression catalogue on the twin: every scenario of the `regressions` group, on every
core version it names, must come out as it expects on that version (connected or not, and
why). The expectations agree with recordings of the real stacks (each TOML says which)."""

from __future__ import annotations

import pytest

from harness.model import Outcome
from harness.run.scenarios import load_scenario, scenario_groups

CASES = [
    pytest.param(name, core, id=f"{name}@{core}")
    for name in scenario_groups()["regressions"]
    for core in load_scenario(name).cores
]


@pytest.mark.parametrize(("name", "core"), CASES)
def test_regression_on_core(hil_run, name, core):
    record = hil_run(f"{name}@{core}")
    expected = load_scenario(name).by_core[core]
    assert record.scenario.board == f"twin-{core}"
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert record.diagnosis.connected is expected.connected
    assert record.diagnosis.cause == expected.cause


def test_each_regression_changes_between_versions_or_says_why_not():
    """A regression scenario is about a change: its cores disagree, or its description
    names the release outside our models where the change happened."""
    for name in scenario_groups()["regressions"]:
        s = load_scenario(name)
        outcomes = {(e.connected, e.cause) for e in s.by_core.values()}
        assert len(s.cores) >= 2, name
        assert s.source.startswith("https://github.com/"), name
        assert s.quote, name
        if len(outcomes) == 1:
            assert any(w in s.description for w in ("1.0.4", "3.x", "every core", "fix")), name
