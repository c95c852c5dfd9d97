"""The plugin as a user meets it: a test file using `hil_run`, run by pytest itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.instruments.boards.platformio import core_dir
from harness.run.runner import BenchConfig

# pytester gives the inner run a HOME of its own: hand it this bench's PlatformIO and cache.
PIO_CORE = core_dir()
CACHE = BenchConfig().cache_dir


def test_failing_expectation_reports_diagnosis_and_junit_properties(
    pytester, monkeypatch, tmp_path
):
    pytester.makepyfile(
        test_user="""
        def test_board_connects(hil_run):
            record = hil_run("founding-report")
            assert record.diagnosis.connected, record.verdict.reason
        """
    )
    junit = tmp_path / "junit.xml"
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(PIO_CORE))
    monkeypatch.setenv("HIL_CACHE_DIR", str(CACHE))
    result = pytester.runpytest_subprocess(
        f"--hil-runs-dir={tmp_path / 'runs'}", f"--junitxml={junit}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*hil: founding-report*",
            "*Cause: no_shared_cipher*[wire and log]*",
            "*SSLCipherSuite*:AES128-SHA256*",
            "*Run directory: *runs*founding-report*",
        ]
    )
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["hil_scenario"] == "founding-report"
    assert props["hil_verdict"] == "pass"  # the scenario held; the user's assertion did not
    assert props["hil_cause"] == "no_shared_cipher"
    assert props["hil_run_dir"].startswith(str(tmp_path / "runs"))
