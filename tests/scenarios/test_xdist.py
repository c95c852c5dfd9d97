"""pytest-xdist runs twin scenarios in parallel without clashes: two workers, the same
scenarios twice each at once (same remembered port, same build folder, same run-folder
name), and every run keeps its own run folder, capture and verdict, with only its own
connection in its capture."""

from __future__ import annotations

import json

from harness.analysis.serverlog import parse_server_log
from harness.instruments.tshark import read_fields


def test_twin_scenarios_under_xdist_do_not_clash(hil_pytester, tmp_path):
    hil_pytester.makepyfile(
        test_parallel="""
        import pytest

        @pytest.mark.parametrize("copy", [1, 2])
        def test_report(hil_run, copy):
            assert hil_run("founding-report").diagnosis.cause == "no_shared_cipher"

        @pytest.mark.parametrize("copy", [1, 2])
        def test_fixed(hil_run, copy):
            assert hil_run("founding-report-fixed").diagnosis.connected
        """
    )
    runs = tmp_path / "runs"
    result = hil_pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", f"--hil-runs-dir={runs}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=4)
    verdicts = sorted(runs.glob("*/verdict.json"))
    assert len(verdicts) == 4, sorted(p.name for p in runs.iterdir())
    ports = set()
    for verdict in verdicts:
        run = verdict.parent
        record = json.loads(verdict.read_text())
        assert record["verdict"] == "pass", record["reason"]
        (port,) = [
            e.fields["port"]
            for e in parse_server_log((run / "server.log").read_text())
            if e.kind == "server_listening"
        ]
        ports.add(port)
        rows = read_fields(
            run / "capture.pcapng",
            keylog=None,
            fields=("tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack"),
            display_filter="tcp",
            log_path=None,
            timeout=60,
        ).text.splitlines()[1:]
        cells = [row.split("\t") for row in rows]
        assert cells and all(str(port) in c[:2] for c in cells), (run.name, port, rows[:5])
        syns = [c for c in cells if c[2] == "1" and c[3] == "0"]
        assert len(syns) == 1, (run.name, syns)  # its own connection, no one else's
    # Two servers at once never shared a port (each capture holds one connection).
    assert len(ports) >= 2
    summaries = sorted(runs.glob("hil-summary-gw*.md"))
    assert len(summaries) == 2, sorted(p.name for p in runs.iterdir())
    rows = [
        line
        for s in summaries
        for line in s.read_text().splitlines()
        if line.startswith("| founding-report")
    ]
    assert len(rows) == 4
