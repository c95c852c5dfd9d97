"""One tshark pass over many captures: their rows split back per capture (layer 2: pure).

A batch is the runs' pcapng files one after the other, each one section (its own
Section Header Block), read by one tshark with `frame.section_number` as the first
column. Frame numbers, TCP stream numbers and `tls.handshake.reassembled_in` count
over the whole batch there; each capture's rows get them back counted from its own
start, so each run's decoder sees exactly the rows a tshark over its file alone
would print (the golden-capture test in tests/integration compares both).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.analysis.wire.decode import Decoder
from harness.analysis.wire.tables import FIELDS

SECTION_FIELD = "frame.section_number"
BATCH_FIELDS: tuple[str, ...] = (SECTION_FIELD, *FIELDS)
_FRAME = FIELDS.index("frame.number")
_STREAM = FIELDS.index("tcp.stream")
_REASSEMBLED_IN = FIELDS.index("tls.handshake.reassembled_in")
_HEADER = "\t".join(FIELDS)


class SectionSplitter:
    """Fed the batch's lines (header first, `BATCH_FIELDS` in order), feeds each
    capture's `Decoder` (`decoders[i]` holds section i + 1) its own rows, renumbered."""

    def __init__(self, decoders: Sequence[Decoder], *, first: int = 1) -> None:
        self.decoders = list(decoders)
        self.first = first  # the section decoders[0] holds (a stream read on: not 1)
        self.warnings: list[str] = []
        self._header_seen = False
        self._frame_base: dict[int, int] = {}
        self._stream_base: dict[int, int] = {}

    def feed(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not line:
                continue
            if not self._header_seen:
                self._header_seen = True
                if line.split("\t") != list(BATCH_FIELDS):
                    self.warnings.append(f"unexpected batch header: {line[:200]}")
                for decoder in self.decoders:
                    decoder.feed([_HEADER])
                continue
            self._row(line)

    def _row(self, line: str) -> None:
        section_text, _, rest = line.partition("\t")
        try:
            section = int(section_text)
        except ValueError:
            self.warnings.append(f"row without a section number: {line[:200]}")
            return
        index = section - self.first
        if not 0 <= index < len(self.decoders):
            self.warnings.append(f"row of section {section}, outside the batch's captures")
            return
        cells = rest.split("\t")
        if len(cells) != len(FIELDS):
            # The decoder names a row of the wrong width in its own warnings.
            self.decoders[index].feed([rest])
            return
        if cells[_FRAME].isdigit():
            frame = int(cells[_FRAME])
            base = self._frame_base.setdefault(section, frame - 1)
            cells[_FRAME] = str(frame - base)
            if cells[_REASSEMBLED_IN]:
                cells[_REASSEMBLED_IN] = _shift(cells[_REASSEMBLED_IN], base)
        if cells[_STREAM].isdigit():
            stream = int(cells[_STREAM])
            cells[_STREAM] = str(stream - self._stream_base.setdefault(section, stream))
        self.decoders[index].feed(["\t".join(cells)])


def _shift(values: str, base: int) -> str:
    return ",".join(str(int(v) - base) if v.isdigit() else v for v in values.split(","))
