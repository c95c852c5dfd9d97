"""One tshark pass over many captures (tshark.analyze_captures, used by `hil matrix`)
must give each capture exactly the wire events its own pass gives: the batch is a
shortcut, never a different answer. Real recordings of three stacks, one with a
certificate chain reassembled over several frames, and one capture cut short (which
leaves the batch and is read on its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.instruments.tshark import (
    CaptureJob,
    analyze_capture,
    analyze_captures,
    guess_server_port,
)
from harness.model.errors import CaptureError

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CASES = (
    "esp8266-2.4.1/do-2016-ssl-params-fixed--apache",
    "esp32-2.0.17/rsa-4096",
    "esp8266-3.1.2/large-records--mfln",
)


def test_a_batch_gives_each_capture_the_events_of_its_own_pass(tmp_path):
    jobs = []
    for case in CASES:
        folder = GOLDEN / case
        port = guess_server_port(folder / "capture.pcapng")
        jobs.append(CaptureJob(folder / "capture.pcapng", folder / "keylog.txt", port))
    # A torn copy: its last block cut in half, as when dumpcap is killed mid-write.
    torn = tmp_path / "torn.pcapng"
    data = (GOLDEN / CASES[0] / "capture.pcapng").read_bytes()
    torn.write_bytes(data[: len(data) - 40])
    jobs.append(CaptureJob(torn, GOLDEN / CASES[0] / "keylog.txt", jobs[0].server_port))
    missing = CaptureJob(tmp_path / "none.pcapng", None, 443)
    jobs.append(missing)

    batch = analyze_captures(jobs, work_dir=tmp_path / "work")

    assert len(batch) == len(jobs)
    for job, got in zip(jobs[:-1], batch[:-1], strict=True):
        alone = analyze_capture(job.pcap, job.keylog, job.server_port)
        assert not isinstance(got, CaptureError), got
        assert got.events == alone.events, job.pcap
        assert got.partial == alone.partial
        assert got.events, f"{job.pcap}: no wire events decoded"
    assert batch[-2].partial  # the torn copy, read on its own, says so
    assert isinstance(batch[-1], CaptureError)
    assert not list((tmp_path / "work").iterdir())  # the batch files are gone
    # Frames are counted from each capture's own start, not the batch's.
    assert min(e.fields.get("frame", 1) for e in batch[1].events) <= 5
    shutil.rmtree(tmp_path / "work")
