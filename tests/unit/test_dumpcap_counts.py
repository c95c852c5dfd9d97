"""dumpcap's exit summary: what was lost, apart from what it flushed after the stop."""

from __future__ import annotations

from pathlib import Path

from harness.instruments.capture.dumpcap_log import counts

# As dumpcap 4.0 wrote it in a CI run (one filler datagram after the stop marker).
SUMMARY = (
    "Capturing on 'Loopback: lo'\nFile: -\nPackets: 908 Packets captured: 908\n"
    "Packets received/dropped on interface 'Loopback: lo': 908/{total} "
    "(pcap:{pcap}/dumpcap:0/flushed:{flushed}/ps_ifdrop:0) (99.9%)\n"
)


def _log(tmp_path: Path, **numbers: int) -> Path:
    path = tmp_path / "dumpcap.log"
    path.write_text(SUMMARY.format(**numbers))
    return path


def test_flushed_packets_are_not_counted_lost(tmp_path: Path) -> None:
    assert counts(_log(tmp_path, total=1, pcap=0, flushed=1)) == (908, 0, 1)


def test_a_kernel_drop_is_lost_beside_a_flushed_packet(tmp_path: Path) -> None:
    assert counts(_log(tmp_path, total=3, pcap=2, flushed=1)) == (908, 2, 1)


def test_no_summary_is_no_count(tmp_path: Path) -> None:
    assert counts(tmp_path / "missing.log") == (None, None, 0)
    (tmp_path / "d.log").write_text("Capturing on 'lo'\n")
    assert counts(tmp_path / "d.log") == (None, None, 0)


def test_a_summary_without_the_breakdown_counts_all_as_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.log"
    path.write_text("Packets received/dropped on interface 'lo': 10/2\n")
    assert counts(path) == (10, 2, 0)
