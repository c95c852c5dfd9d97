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


def test_junit_names_board_and_profile_and_a_connected_run_has_no_cause(
    pytester, monkeypatch, tmp_path
):
    pytester.makepyfile(
        test_user="""
        def test_fixed(hil_run):
            assert hil_run("founding-report-fixed").diagnosis.connected

        def test_report(hil_run):
            assert hil_run("founding-report").diagnosis.cause == "no_shared_cipher"
        """
    )
    junit = tmp_path / "junit.xml"
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(PIO_CORE))
    monkeypatch.setenv("HIL_CACHE_DIR", str(CACHE))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    runs = tmp_path / "runs"
    result = pytester.runpytest_subprocess(
        f"--hil-runs-dir={runs}", f"--junitxml={junit}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    fixed = {p.get("name"): p.get("value") for p in cases["test_fixed"].iter("property")}
    assert fixed["hil_board"] == "twin-esp8266-axtls"
    assert fixed["hil_profile"] == "do-2016-ssl-params-fixed"
    assert "hil_cause" not in fixed
    report = {p.get("name"): p.get("value") for p in cases["test_report"].iter("property")}
    assert report["hil_cause"] == "no_shared_cipher"
    # The session's summary: one row per run, linked to its ladder, also in the job summary.
    result.stdout.fnmatch_lines([f"*hil: summary of this session's runs in {runs}*"])
    summary = (runs / "hil-summary.md").read_text()
    rows = [ln for ln in summary.splitlines() if ln.startswith("| founding-report")]
    assert len(rows) == 2
    assert any("| connected |" in r for r in rows) and any("no_shared_cipher" in r for r in rows)
    link = rows[0].split("](")[1].split(")")[0]
    assert (runs / link).name == "timeline.html" and (runs / link).exists()
    assert "| founding-report-fixed | twin-esp8266-axtls |" in step_summary.read_text()
