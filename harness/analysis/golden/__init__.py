"""Golden comparison (pure): a run against a recording of a real board's stack.

`capture` turns tshark's rows into connections and the client's records,
`records` takes records apart, `serial` masks lines, `masks` holds every masking
rule as data, `compare` finds the differences, `known` marks the ones a twin's
FIDELITY file lists, `report` holds the result and prints its table.
"""

from harness.analysis.golden.capture import (
    SEGMENT_FIELDS,
    Connection,
    TlsRecord,
    WireRecording,
    build_recording,
    parse_decrypted,
    parse_segments,
)
from harness.analysis.golden.compare import Recording, compare
from harness.analysis.golden.known import KnownDifference, classify, parse_known
from harness.analysis.golden.report import Difference, GoldenReport, render_table

__all__ = [
    "SEGMENT_FIELDS",
    "Connection",
    "Difference",
    "GoldenReport",
    "KnownDifference",
    "Recording",
    "TlsRecord",
    "WireRecording",
    "build_recording",
    "classify",
    "compare",
    "parse_decrypted",
    "parse_known",
    "parse_segments",
    "render_table",
]
