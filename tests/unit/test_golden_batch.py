"""How a batch of golden cases is dealt out to its workers (pure part)."""

from __future__ import annotations

from pathlib import Path

from harness.run.golden_batch import _interleaved


def test_cases_are_dealt_board_by_board_in_turn():
    cases = [(Path(f"{b}{i}"), b) for b, n in (("a", 3), ("b", 1), ("c", 2)) for i in range(n)]
    order = [str(g) for g, _ in _interleaved(cases)]
    # Two workers seldom build for one board (one build lock) at the same time.
    assert order == ["a0", "b0", "c0", "a1", "c1", "a2"]
    assert sorted(order) == sorted(str(g) for g, _ in cases)
