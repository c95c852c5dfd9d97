"""Diagnosis of the real logs (tests/data/logs/index.toml), against a keyword reading of the
same logs, in the same run.

value: the share (%) of logs whose thread settled a cause of the catalogue that the
diagnosis names right; the name says how many it named right, left `unknown`, named
wrong, and named wrong with more than 'likely' confidence (the goal: none), and the same
over the logs whose cause was only judged. baseline: what a reader grepping the log for
the obvious words would name (`_KEYWORDS`, first match wins, else unknown). Not a timing:
`runs` only repeats the count.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import NamedTuple

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence
from harness.model.causes import CAUSES
from harness.run.benchmarks import Figure

NAME = "diagnosis"
LOGS = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs"
# The words a reader looks for, in the order one would trust them.
_KEYWORDS = (
    (r"(?i)fingerprint", "fingerprint_mismatch"),
    (r"(?i)expired|not yet valid|validity", "cert_time_invalid"),
    (r"(?i)dns|hostbyname|getaddrinfo|lookup", "dns_failed"),
    (r"(?i)memory|alloc|heap", "out_of_memory"),
    (r"(?i)verif|trust|certificate", "untrusted_cert"),
    (r"(?i)timeout|timed out", "handshake_timeout"),
    (r"(?i)handshake", "no_shared_cipher"),
    (r"(?i)refused|connect", "tcp_connect_failed"),
)


class Tally(NamedTuple):
    right: int = 0
    unknown: int = 0
    wrong: int = 0
    confidently_wrong: int = 0

    @property
    def total(self) -> int:
        return self.right + self.unknown + self.wrong

    def __str__(self) -> str:
        return (
            f"right {self.right}, unknown {self.unknown}, wrong {self.wrong} "
            f"(confidently {self.confidently_wrong})"
        )


def _keywords(text: str) -> str:
    for pattern, cause in _KEYWORDS:
        if re.search(pattern, text):
            return cause
    return "unknown"


def _score(t: Tally, cause: str | None, confidence: Confidence, settled: str) -> Tally:
    if cause == settled:
        return t._replace(right=t.right + 1)
    if cause in (None, "unknown"):
        return t._replace(unknown=t.unknown + 1)
    sure = confidence is not Confidence.LIKELY
    return t._replace(wrong=t.wrong + 1, confidently_wrong=t.confidently_wrong + sure)


def tally(*, judged: bool = False) -> tuple[Tally, Tally]:
    """(the diagnosis, the keyword reading) over the logs whose thread settled a catalogue
    cause, or with `judged` over those whose cause was judged from the log."""
    ours = words = Tally()
    for entry in tomllib.loads((LOGS / "index.toml").read_text())["log"]:
        settled = entry["resolution"]
        if judged:
            if not settled.startswith("judged:"):
                continue
            settled = settled.removeprefix("judged:")
        if settled not in CAUSES:
            continue
        text = (LOGS / entry["file"]).read_text()
        lines = read_pasted_log(text)
        stack = detect_stack(lines)
        events = parse_serial(lines, stack)
        d = diagnose(build_timeline(events, same_clock=False), Context(stack=stack))
        ours = _score(ours, d.cause, d.confidence, settled)
        words = _score(words, _keywords(text), Confidence.LOG, settled)
    return ours, words


def measure(runs: int = 1) -> Figure:
    for _ in range(max(runs, 1)):
        (now, words), (judged, _) = tally(), tally(judged=True)
    return Figure(
        name=f"causes named right on {now.total} real logs whose thread settled one: {now}; "
        f"on {judged.total} judged ones: {judged}",
        value=100.0 * now.right / now.total if now.total else 0.0,
        unit="%",
        baseline=f"a keyword reading of the same logs: {words}",
        baseline_value=100.0 * words.right / words.total if words.total else 0.0,
        runs=runs,
    )


if __name__ == "__main__":
    print(measure())
