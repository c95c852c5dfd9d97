"""Layer 1: data only. The run's records (`records`), the exception hierarchy
(`errors`), the stacks (`stacks`) and the cipher-suite table (`suites`); nothing
here does I/O or imports another layer."""

from harness.model.records import (
    Attempt,
    Confidence,
    Diagnosis,
    Direction,
    Event,
    Evidence,
    Expectation,
    Fix,
    Outcome,
    RunRecord,
    Scenario,
    Source,
    Timeline,
    Verdict,
)

__all__ = [
    "Attempt",
    "Confidence",
    "Diagnosis",
    "Direction",
    "Event",
    "Evidence",
    "Expectation",
    "Fix",
    "Outcome",
    "RunRecord",
    "Scenario",
    "Source",
    "Timeline",
    "Verdict",
]
