"""Diagnosis x Expectation -> Verdict (pure)."""

from __future__ import annotations

from harness.model import Diagnosis, Expectation, Outcome, Verdict


def judge(expected: Expectation, diagnosis: Diagnosis) -> Verdict:
    observed = Expectation(connected=diagnosis.connected, cause=diagnosis.cause)
    if observed.connected != expected.connected:
        word = "connected" if observed.connected else "did not connect"
        return Verdict(
            Outcome.FAIL,
            expected,
            observed,
            f"expected {'a connection' if expected.connected else 'a failure'}, "
            f"but the board {word} (cause: {observed.cause})",
        )
    if not expected.connected and expected.cause and observed.cause != expected.cause:
        return Verdict(
            Outcome.FAIL,
            expected,
            observed,
            f"failed as expected, but with cause {observed.cause!r}, not {expected.cause!r}",
        )
    if expected.connected and observed.cause is not None:
        return Verdict(
            Outcome.FAIL,
            expected,
            observed,
            f"connected, but a later step failed: {observed.cause}",
        )
    what = f"failed with {observed.cause}" if observed.cause else "connected"
    return Verdict(Outcome.PASS, expected, observed, f"{what}, as expected")
