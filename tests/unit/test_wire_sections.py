"""SectionSplitter: a batch's rows back to each capture's decoder, numbered from its own
start (frames, TCP streams, reassembled_in), and rows it cannot place named."""

from __future__ import annotations

from harness.analysis.wire import Decoder
from harness.analysis.wire.sections import BATCH_FIELDS, SectionSplitter
from harness.analysis.wire.tables import FIELDS

HEADER = "\t".join(BATCH_FIELDS)


def _row(
    section: int, frame: int, stream: int, sport: int, dport: int, extra: dict | None = None
) -> str:
    cells = dict.fromkeys(FIELDS, "")
    cells.update(
        {
            "frame.number": str(frame),
            "frame.time_epoch": f"{1700000000 + frame}.0",
            "ip.src": "127.0.0.1",
            "ip.dst": "127.0.0.1",
            "tcp.srcport": str(sport),
            "tcp.dstport": str(dport),
            "tcp.stream": str(stream),
            "tcp.flags.syn": "1",
            "tcp.flags.ack": "0",
            "tcp.flags.fin": "0",
            "tcp.flags.reset": "0",
        }
    )
    cells.update(extra or {})
    return "\t".join([str(section), *(cells[f] for f in FIELDS)])


class Recorder(Decoder):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.seen: list[str] = []

    def feed(self, lines):
        lines = list(lines)
        self.seen += lines
        super().feed(lines)


def test_rows_go_to_their_section_renumbered():
    a, b = Recorder(4433), Recorder(5544)
    splitter = SectionSplitter([a, b])
    splitter.feed(
        [
            HEADER,
            _row(1, 1, 0, 40000, 4433),
            _row(1, 2, 0, 4433, 40000),
            _row(2, 13, 3, 40001, 5544),
            _row(2, 14, 4, 40002, 5544),
        ]
    )
    assert splitter.warnings == []
    assert a.seen[0] == "\t".join(FIELDS) and b.seen[0] == "\t".join(FIELDS)
    frames = [line.split("\t")[FIELDS.index("frame.number")] for line in b.seen[1:]]
    streams = [line.split("\t")[FIELDS.index("tcp.stream")] for line in b.seen[1:]]
    assert frames == ["1", "2"] and streams == ["0", "1"]
    assert [e.fields["frame"] for e in b.result().events] == [1, 2]
    assert len(a.result().events) == 2


def test_reassembled_in_counts_from_the_section_start():
    d = Recorder(4433)
    splitter = SectionSplitter([Recorder(1), d])
    splitter.feed([HEADER, _row(2, 21, 5, 40000, 4433, {"tls.handshake.reassembled_in": "23,24"})])
    cells = d.seen[1].split("\t")
    assert cells[FIELDS.index("tls.handshake.reassembled_in")] == "3,4"


def test_rows_it_cannot_place_are_named():
    splitter = SectionSplitter([Recorder(4433)])
    splitter.feed(["not the header", _row(3, 1, 0, 1, 4433), "x\tshort"])
    assert len(splitter.warnings) == 3
    assert "header" in splitter.warnings[0] and "section 3" in splitter.warnings[1]
