"""pytest plugin (entry point `pytest11`): options, fixtures and report hooks. Thin.

    def test_founding_report(hil_run):
        record = hil_run("founding-report")
        assert record.diagnosis.cause == "no_shared_cipher"

Each run gets a run directory under `--hil-runs-dir`; a failing test's report
shows the diagnosis and the timeline, and JUnit XML gets the verdict, the cause
and the run directory as properties.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness import report
from harness.model import RunRecord
from harness.runner import BenchConfig, run_scenario
from harness.scenarios import load_scenario

_RECORDS = pytest.StashKey[list[RunRecord]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "esp-tls-hil")
    group.addoption("--hil-runs-dir", help="where run directories go (default: hil-runs)")
    group.addoption("--hil-cache-dir", help="keys and build cache (default: ~/.cache/esp-tls-hil)")
    parser.addini("hil_runs_dir", "where run directories go", default="hil-runs")
    parser.addini("hil_cache_dir", "keys and build cache", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil_scenario(name): the scenario a test runs")


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"--hil-{name.replace('_', '-')}")
    return value if value is not None else config.getini(f"hil_{name}")


@pytest.fixture(scope="session")
def hil_bench(pytestconfig: pytest.Config) -> BenchConfig:
    """The bench configuration, from options and ini keys."""
    runs = Path(_option(pytestconfig, "runs_dir"))
    if not runs.is_absolute():
        runs = pytestconfig.rootpath / runs
    cache = _option(pytestconfig, "cache_dir")
    extra = {"cache_dir": Path(cache)} if cache else {}
    return BenchConfig(runs_dir=runs, **extra)


@pytest.fixture
def hil_run(hil_bench: BenchConfig, request: pytest.FixtureRequest) -> Callable[[str], RunRecord]:
    """Run a scenario by name; the record is returned and attached to the test's report."""

    def run(name: str) -> RunRecord:
        record = run_scenario(load_scenario(name), hil_bench)
        request.node.stash.setdefault(_RECORDS, []).append(record)
        # user_properties, not record_property: JUnit gets them under every junit_family.
        request.node.user_properties.extend(
            [
                ("hil_scenario", name),
                ("hil_verdict", record.verdict.outcome.value),
                ("hil_cause", str(record.diagnosis.cause)),
                ("hil_run_dir", str(record.run_dir)),
            ]
        )
        return record

    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    rep = yield
    if rep.when == "call" and rep.failed:
        for record in item.stash.get(_RECORDS, []):
            rep.sections.append(
                (f"hil: {record.scenario.name} ({record.run_dir})", report.render_text(record))
            )
    return rep
