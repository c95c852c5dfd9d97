"""The plugin as a user meets it: a test file using `hil_run`, run by pytest itself."""

from __future__ import annotations

import re
import signal
import xml.etree.ElementTree as ET
from pathlib import Path


def test_failing_expectation_reports_diagnosis_and_junit_properties(hil_pytester, tmp_path):
    hil_pytester.makepyfile(
        test_user="""
        def test_board_connects(hil_run):
            record = hil_run("founding-report")
            assert record.diagnosis.connected, record.verdict.reason
        """
    )
    junit = tmp_path / "junit.xml"
    result = hil_pytester.runpytest_subprocess(
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
    hil_pytester, monkeypatch, tmp_path
):
    hil_pytester.makepyfile(
        test_user="""
        def test_fixed(hil_run):
            assert hil_run("founding-report-fixed").diagnosis.connected

        def test_report(hil_run):
            assert hil_run("founding-report").diagnosis.cause == "no_shared_cipher"
        """
    )
    junit = tmp_path / "junit.xml"
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    runs = tmp_path / "runs"
    result = hil_pytester.runpytest_subprocess(
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


# -- the plugin keeps to itself in sessions that do not use it -------------------------------


def test_a_session_without_harness_fixtures_is_untouched(pytester):
    pytester.makepyfile(
        test_plain="""
        import signal, sys

        def test_nothing_of_the_harness_is_loaded_or_installed():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            heavy = {"cryptography", "serial", "harness.run.runner", "harness.instruments"}
            assert heavy.isdisjoint(sys.modules), heavy & set(sys.modules)
        """
    )
    # labgrid (the farm extra, in the test extra too) brings a pytest plugin of its own
    # that imports pyserial: this test is about ours.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:labgrid")
    result.assert_outcomes(passed=1)


def test_a_session_using_the_fixtures_gets_sigterm_handled_and_restored(pytester, tmp_path):
    pytester.makepyfile(
        test_uses="""
        import signal

        def test_uses_the_bench(hil_bench):
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        """
    )
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        result = pytester.runpytest_inprocess(
            f"--hil-runs-dir={tmp_path}", "-p", "no:cacheprovider"
        )
        after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    result.assert_outcomes(passed=1)
    assert after is signal.SIG_DFL


# -- every bench field: option, ini key, fixture; README's parametrization works -------------


def test_the_readme_override_of_hil_runs_dir_by_parametrization(pytester, tmp_path):
    # The README's own example, run as written (only its folder moved under tmp_path).
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    (example,) = [b for b in blocks if 'parametrize("hil_runs_dir"' in b]
    assert "/tmp/hil-nightly-runs" in example
    pytester.makepyfile(test_readme=example.replace("/tmp/hil-nightly-runs", str(tmp_path)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_every_bench_field_is_an_ini_key_an_option_and_a_fixture(pytester, tmp_path):
    pytester.makeini(
        f"""
        [pytest]
        hil_runs_dir = {tmp_path / "runs"}
        hil_sketches_dir = {tmp_path / "sketches"}
        hil_bind = 127.0.0.2
        hil_boot_timeout = 7.5
        hil_attempt_timeout = 8
        hil_settle_timeout = 0
        hil_keep_runs = 3
        """
    )
    pytester.makepyfile(
        test_fields=f"""
        import pytest
        from pathlib import Path

        def test_from_ini_and_options(hil_bench):
            assert hil_bench.runs_dir == Path({str(tmp_path / "runs")!r})
            assert hil_bench.sketches_dir == Path({str(tmp_path / "sketches")!r})
            assert hil_bench.bind == "127.0.0.2"
            assert hil_bench.boot_timeout == 7.5
            assert hil_bench.attempt_timeout == 9.0  # the option wins over the ini key
            assert hil_bench.settle_timeout == 0.0  # an explicit 0 is kept
            assert hil_bench.keep_runs == 3

        @pytest.mark.parametrize("hil_boot_timeout", [1.5])
        def test_by_parametrization(hil_bench):
            assert hil_bench.boot_timeout == 1.5
        """
    )
    result = pytester.runpytest_subprocess("--hil-attempt-timeout=9", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


# -- teardown: every stop runs, even after one raised -------------------------------------------


def test_a_failing_stop_does_not_keep_the_other_servers_running(hil_pytester, tmp_path):
    pids = tmp_path / "pids"
    hil_pytester.makepyfile(
        test_servers=f"""
        from harness.instruments.servers.builtin import BuiltinServer

        real_stop = BuiltinServer.stop
        started = []

        def stop_then_fail_for_the_last(self):
            real_stop(self)
            if self is started[-1]:
                raise RuntimeError("stop failed")

        BuiltinServer.stop = stop_then_fail_for_the_last

        def test_two_servers(tls_server):
            started.append(tls_server("tls1.2-only"))
            started.append(tls_server("tls1.2-only"))
            open({str(pids)!r}, "w").write(" ".join(str(s.pid) for s in started))
            # The last one started is stopped first: its error must not skip the other.

        def test_both_stopped_before_the_next_test():
            # Checked inside the session: at its end the harness's reaper would stop them.
            from harness.instruments.reaper_main import process_start

            pids = open({str(pids)!r}).read().split()
            assert [p for p in pids if process_start(int(p)) is not None] == []
        """
    )
    result = hil_pytester.runpytest_subprocess(
        f"--hil-runs-dir={tmp_path / 'runs'}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: stop failed*"])
