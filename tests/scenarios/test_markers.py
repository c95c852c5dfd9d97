"""hil_board / hil_profile / hil_expect markers: a boards x profiles grid written on the test."""

from __future__ import annotations

import pytest

from harness.model import Outcome

GRID = {
    ("twin-esp8266-2.4.2", "do-2016-ssl-params"): {"connected": False, "cause": "no_shared_cipher"},
    ("twin-esp8266-3.1.2", "do-2016-ssl-params"): {"connected": True},
    ("twin-esp8266-2.4.2", "wrong-host"): {"connected": True},
    ("twin-esp8266-3.1.2", "wrong-host"): {"connected": False, "cause": "hostname_mismatch"},
}


@pytest.mark.parametrize(
    ("board", "profile"),
    [
        pytest.param(b, p, marks=[pytest.mark.hil_expect(**e)], id=f"{b}-{p}")
        for (b, p), e in GRID.items()
    ],
)
def test_boards_x_profiles(hil_marked_run, board, profile):
    record = hil_marked_run(board=board, profile=profile)
    assert record.verdict.outcome is Outcome.PASS
    assert record.diagnosis.connected is GRID[(board, profile)]["connected"]


def test_a_wrong_expectation_fails_with_the_cause_and_run_dir(hil_pytester):
    hil_pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil_board("twin-esp8266-2.4.2")
        @pytest.mark.hil_profile("do-2016-ssl-params")
        @pytest.mark.hil_expect(connected=True)
        def test_it(hil_marked_run):
            hil_marked_run()
        """
    )
    result = hil_pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cause no_shared_cipher; run directory *"])


def test_missing_profile_is_a_clear_error(hil_pytester):
    hil_pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hil_board("twin-esp8266-2.4.2")
        def test_it(hil_marked_run):
            hil_marked_run()
        """
    )
    result = hil_pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*ConfigError*no profile for hil_marked_run", "*fix: add @pytest.mark.hil_board*"]
    )
