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
    # Connected, then a later step (reading the answer) failed: expected only when named.
    if expected.connected and observed.cause != expected.cause:
        if observed.cause is None:
            why = f"connected, but no later step failed with {expected.cause!r} as expected"
        else:
            why = f"connected, but a later step failed: {observed.cause}"
            if expected.cause:
                why += f", not {expected.cause!r}"
        return Verdict(Outcome.FAIL, expected, observed, why)
    if observed.cause and observed.connected:
        what = f"connected, then failed with {observed.cause}"
    elif observed.cause:
        what = f"failed with {observed.cause}"
    else:
        what = "connected"
    return Verdict(Outcome.PASS, expected, observed, f"{what}, as expected")
