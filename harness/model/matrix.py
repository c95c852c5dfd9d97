"""One cell of a `hil matrix`: a sketch on a board against a server profile, and how it
came out. Data only (layer 1), so the reports in analysis/ render it without a run."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class CellOutcome(StrEnum):
    CONNECTED = "connected"
    FAILED = "failed"  # the run completed and the board did not connect; `cause` says why
    ERROR = "error"  # the run could not complete (build error, deadline, ...); `error` says why
    NOT_RUN = "not run"  # the matrix was interrupted before this cell started


@dataclass(frozen=True)
class MatrixCell:
    sketch: str
    board: str
    profile: str
    outcome: CellOutcome
    cause: str | None = None
    error: str = ""
    run_dir: Path | None = None
    seconds: float = 0.0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.sketch, self.board, self.profile)

    def to_json(self) -> dict[str, Any]:
        return {
            "sketch": self.sketch,
            "board": self.board,
            "profile": self.profile,
            "outcome": str(self.outcome),
            "connected": self.outcome is CellOutcome.CONNECTED,
            "cause": self.cause,
            "error": self.error,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "seconds": self.seconds,
        }
