"""pytest markers for a run described on the test itself (loaded by harness.pytest_plugin):

    @pytest.mark.parametrize("core", ["esp8266-2.4.2", "esp8266-3.1.2"])
    @pytest.mark.hil_profile("do-2016-ssl-params")
    def test_suites(hil_marked_run, core):
        record = hil_marked_run(board=f"twin-{core}")

`hil_board(name)`, `hil_profile(name)`, `hil_sketch(name)` (default `tls_client`),
`hil_define(KEY="value", ...)` and `hil_expect(connected=..., cause=...)` describe the
run; arguments given to `hil_marked_run(...)` win over the markers (parametrization).
The record's verdict is judged against `hil_expect` (default: connected).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from harness.model import Expectation, RunRecord, Scenario
from harness.model.causes import CAUSES
from harness.model.errors import ConfigError

if TYPE_CHECKING:  # the runner (and what it imports) loads when a test runs, not at startup
    from harness.run.runner import BenchConfig
    from harness.run.session import RunSession

MARKERS = {
    "hil_board": "hil_board(name): the board a hil_marked_run uses",
    "hil_profile": "hil_profile(name): the server profile a hil_marked_run uses",
    "hil_sketch": "hil_sketch(name): the sketch a hil_marked_run builds (default tls_client)",
    "hil_define": "hil_define(KEY=value, ...): sketch macros for a hil_marked_run",
    "hil_expect": "hil_expect(connected=..., cause=...): what a hil_marked_run must show",
}
DEFAULT_SKETCH = "tls_client"


def pytest_configure(config: pytest.Config) -> None:
    for text in MARKERS.values():
        config.addinivalue_line("markers", text)


def _marker_arg(node: pytest.Item, name: str) -> str | None:
    mark = node.get_closest_marker(name)
    if mark is None:
        return None
    if len(mark.args) != 1 or not isinstance(mark.args[0], str):
        raise ConfigError(f"@pytest.mark.{name} takes one name", fix=f'write {name}("...")')
    return mark.args[0]


def scenario_from_marks(node: pytest.Item, **given: Any) -> Scenario:
    """The scenario the markers (and `given`, which wins) describe."""
    values = {
        key: given.get(key) or _marker_arg(node, f"hil_{key}")
        for key in ("board", "profile", "sketch")
    }
    values["sketch"] = values["sketch"] or DEFAULT_SKETCH
    missing = [k for k in ("board", "profile") if not values[k]]
    if missing:
        raise ConfigError(
            f"{node.nodeid}: no {' or '.join(missing)} for hil_marked_run",
            fix="add @pytest.mark.hil_board(...)/hil_profile(...) or pass board=/profile=",
        )
    expect = node.get_closest_marker("hil_expect")
    expect_kw = dict(expect.kwargs) if expect else {}
    expect_kw.update(given.get("expect", {}))
    cause = expect_kw.get("cause")
    if cause is not None and cause not in CAUSES:
        raise ConfigError(f"hil_expect cause {cause!r} is not in the catalogue",
                          fix=f"use one of: {', '.join(sorted(CAUSES))}")  # fmt: skip
    defines: dict[str, str] = {}
    for mark in reversed(list(node.iter_markers("hil_define"))):
        defines.update({k: str(v) for k, v in mark.kwargs.items()})
    defines.update(given.get("defines", {}))
    return Scenario(
        name=f"{values['sketch']}.{values['profile']}@{values['board']}",
        description=f"pytest {node.nodeid}",
        sketch=values["sketch"],
        board=values["board"],
        profile=values["profile"],
        expectation=Expectation(connected=bool(expect_kw.get("connected", True)), cause=cause),
        defines=defines,
    )


@pytest.fixture
def hil_marked_run(
    hil_bench: BenchConfig, hil_session: RunSession | None, request: pytest.FixtureRequest
) -> Callable[..., RunRecord]:
    """Run what the test's hil_* markers describe; fails the test unless the verdict passes."""

    def run(**given: Any) -> RunRecord:
        from harness.run.runner import run_scenario

        __tracebackhide__ = True
        record = run_scenario(
            scenario_from_marks(request.node, **given), hil_bench, session=hil_session
        )
        request.node.user_properties.append(("hil_run_dir", str(record.run_dir)))
        if "core" in record.board_info:
            request.node.user_properties.append(("hil_core", record.board_info["core"]))
        if record.verdict.outcome.value != "pass":
            from harness.analysis.report import where_lines

            where = "".join(f"\n{line}" for line in where_lines(record))
            pytest.fail(
                f"{record.scenario.name}: {record.verdict.reason}{where}\n"
                f"cause {record.diagnosis.cause}; run directory {record.run_dir}",
                pytrace=False,
            )
        return record

    return run
