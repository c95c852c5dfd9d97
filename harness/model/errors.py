"""One exception hierarchy for the whole package.

Every error names the input, what was seen, what would fix it and where the log
is, so a nightly failure can be acted on from its one-line summary.
"""

from __future__ import annotations

from pathlib import Path


class HilError(Exception):
    """Base of every error the harness raises on purpose."""

    def __init__(
        self,
        what: str,
        *,
        seen: str = "",
        fix: str = "",
        log: Path | str | None = None,
    ) -> None:
        self.what = what
        self.seen = seen
        self.fix = fix
        self.log = Path(log) if log else None
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.what]
        if self.seen:
            parts.append(f"seen: {self.seen}")
        if self.fix:
            parts.append(f"fix: {self.fix}")
        if self.log:
            parts.append(f"log: {self.log}")
        return "\n  ".join(parts)


class ConfigError(HilError):
    """Bad input: a malformed profile, scenario, certificate plan or option."""


class ToolMissingError(HilError):
    """An external tool (dumpcap, tshark, apache2, pio, ...) is not installed."""


class ToolFailedError(HilError):
    """An external tool ran and failed."""


class PortInUseError(ToolFailedError):
    """A server could not listen: another process holds the port."""


class DeadlineError(HilError):
    """A wait ran past its deadline."""


class StateError(HilError):
    """A method was called in a lifecycle state that does not allow it."""


class NetworkSafetyError(HilError):
    """Test traffic would leave this machine; refused."""


class CaptureError(HilError):
    """A capture could not be started, stopped or read."""


class SerialError(HilError):
    """A serial port could not be opened or read."""
