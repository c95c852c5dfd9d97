"""The twin against every golden recording of a real board's stack (tests/data/golden).

For each golden of a compared core, the twin runs the case (its profile, backend and
sketch behaviour) and `hil golden check`'s comparison must find no difference that
the personality's FIDELITY file does not list. Goldens of the other cores are not
skipped silently: each such core is an expected failure (strict), saying what is
missing, until it joins COMPARED_CORES.

The cases selected in a session run once, side by side (harness/run/golden_batch.py),
when the first of them needs its result; each test then reads its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.analysis.golden import render_table
from harness.instruments.boards import BOARDS, get_board_spec
from harness.instruments.boards.base import core_id
from harness.run.golden import known_differences, load_case
from harness.run.golden_batch import CaseResult, run_cases
from harness.run.runner import BenchConfig, new_run_dir
from tests.samples import DATA

GOLDEN_ROOT = DATA / "golden"


def _goldens() -> list[Path]:
    return sorted(p.parent for p in GOLDEN_ROOT.glob("*/*/case.toml"))


def _twin_of(core: str) -> str | None:
    twins = sorted(
        name for name, spec in BOARDS.items() if spec.kind == "twin" and core_id(spec) == core
    )
    return twins[0] if twins else None


GOLDENS = _goldens()
CORES = sorted({load_case(g)["core"] for g in GOLDENS})

# Cores whose goldens are compared here: the personality's default sketch reproduces
# each case's behaviour (harness/run/golden.py CASE_SWITCHES) and its FIDELITY file
# lists what is known to differ. A core joins this set when both are done for it.
COMPARED_CORES = frozenset(
    {
        "esp8266-2.4.1",
        "esp8266-2.4.2",
        "esp8266-2.5.2",
        "esp8266-2.7.4",
        "esp8266-3.0.2",
        "esp8266-3.1.2",
        "esp32-1.0.6",
        "esp32-2.0.17",
        "esp32-3.x",
    }
)
# Cases run side by side: a build is mostly the compiler, a run mostly waiting.
GOLDEN_WORKERS = 3
# Cores with goldens and no twin board at all (none today: esp32 3.x's twin runs the
# mbedTLS 3 that `hil setup` builds).
CORES_WITHOUT_TWIN: frozenset[str] = frozenset()

# What the comparisons of this session saw, for the last test (tests run in file order).
COMPARED: list[Path] = []
USED: set[str] = set()
MATCHED = [
    (g, _twin_of(load_case(g)["core"]))
    for g in GOLDENS
    if load_case(g)["core"] in COMPARED_CORES and _twin_of(load_case(g)["core"])
]


def test_there_are_goldens_to_compare():
    assert MATCHED, f"no golden in {GOLDEN_ROOT} has a twin board"


def _selected(session: pytest.Session) -> list[tuple[Path, str]]:
    """The (golden, board) cases of this session's selected comparison tests."""
    out = []
    for item in session.items:
        spec = getattr(item, "callspec", None)
        if item.originalname == "test_twin_matches_the_golden" and spec is not None:
            out.append((spec.params["golden"], spec.params["board"]))
    return out


# The cases of this session, run once by the first comparison test that needs them
# (hil_bench, which configures them, is per test); a batch that broke is not retried.
RESULTS: dict[Path, CaseResult] = {}
BROKEN: list[str] = []
# That first test holds the whole batch: its deadline is the batch's, not one run's
# (a case takes a few seconds; 30 s each leaves room for a loaded machine).
BATCH_TIMEOUT = 120 + 30 * len(MATCHED) // GOLDEN_WORKERS


@pytest.fixture
def golden_results(request: pytest.FixtureRequest, hil_bench: BenchConfig):
    """Every selected case, run and compared once; the run directories of those that
    match removed (a mismatch keeps its run directory, named in the failure)."""
    if BROKEN:
        pytest.fail(f"the batch of golden cases broke in an earlier test: {BROKEN[0]}")
    params = request.node.callspec.params
    if params["golden"] not in RESULTS:
        runs = new_run_dir(hil_bench.runs_dir / "golden", "session")
        # Under pytest-xdist a worker runs only its share of the tests: its own case.
        xdist = hasattr(request.config, "workerinput")
        cases = [(params["golden"], params["board"])] if xdist else _selected(request.session)
        try:
            RESULTS.update(run_cases(cases, hil_bench, runs, workers=GOLDEN_WORKERS))
        except BaseException as exc:
            BROKEN.append(f"{type(exc).__name__}: {exc}")
            raise
        for r in RESULTS.values():
            if r.report is not None and r.report.matches and r.run_dir is not None:
                shutil.rmtree(r.run_dir, ignore_errors=True)
    return RESULTS


@pytest.mark.golden
@pytest.mark.timeout(BATCH_TIMEOUT)
@pytest.mark.parametrize(
    ("golden", "board"), MATCHED, ids=[f"{g.parent.name}/{g.name}" for g, _ in MATCHED]
)
def test_twin_matches_the_golden(golden: Path, board: str, golden_results: dict[Path, CaseResult]):
    result = golden_results[golden]
    assert result.report is not None, f"{golden.name} on {board}: {result.error}"
    report = result.report
    COMPARED.append(golden)
    USED.update(d.known for d in report.differences if d.known)
    assert report.matches, render_table(report)


@pytest.mark.parametrize(
    "core",
    [
        pytest.param(
            core,
            marks=pytest.mark.xfail(
                strict=True, reason=f"twin personality for {core} not built yet"
            ),
        )
        if core in CORES_WITHOUT_TWIN
        else core
        for core in CORES
    ],
)
def test_every_golden_core_has_a_twin(core: str):
    goldens = sorted(g.name for g in GOLDENS if load_case(g)["core"] == core)
    assert _twin_of(core), (
        f"no twin board of core {core} in the registry (harness/instruments/boards BOARDS): "
        f"its goldens {', '.join(goldens)} are not compared"
    )


@pytest.mark.parametrize(
    "core",
    [
        pytest.param(
            core,
            marks=pytest.mark.xfail(
                strict=True,
                reason=f"the twin of {core} is built, but its golden comparison is not wired "
                "yet: its sketch switches per case and its FIDELITY known differences",
            ),
        )
        if core not in COMPARED_CORES and core not in CORES_WITHOUT_TWIN
        else core
        for core in CORES
        if core not in CORES_WITHOUT_TWIN
    ],
)
def test_every_golden_core_with_a_twin_is_compared(core: str):
    assert core in COMPARED_CORES, f"the goldens of {core} are not compared with its twin"


def test_every_known_difference_still_occurs():
    """A known difference no golden shows any more was fixed: its entry must go, or it
    would hide the same difference coming back."""
    if len(COMPARED) < len(MATCHED):
        pytest.xfail(f"{len(COMPARED)} of {len(MATCHED)} golden comparisons ran in this session")
    personalities = {get_board_spec(board).personality for _, board in MATCHED}
    listed = {k.label for k in known_differences() if k.personality in personalities and not k.race}
    assert not listed - USED, f"known differences no golden shows: {sorted(listed - USED)}"
