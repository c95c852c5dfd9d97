"""tshark field text -> wire events (layer 2: pure, no processes, no files).

`decode` turns the rows of `FIELDS` into events (decode.py); the TLS numbers and
names are in tables.py, the results and the grouping per attempt in results.py,
the facts of certificates in certificates.py.
"""

from harness.analysis.wire.certificates import describe_certificate
from harness.analysis.wire.decode import Decoder, decode
from harness.analysis.wire.results import WireAnalysis, WireAttempt, group_attempts
from harness.analysis.wire.tables import (
    ALERT_NAMES,
    FIELDS,
    GROUP_NAMES,
    HANDSHAKE_KINDS,
    alert_name,
    group_name,
)

__all__ = [
    "ALERT_NAMES",
    "FIELDS",
    "GROUP_NAMES",
    "HANDSHAKE_KINDS",
    "Decoder",
    "WireAnalysis",
    "WireAttempt",
    "alert_name",
    "decode",
    "describe_certificate",
    "group_attempts",
    "group_name",
]
