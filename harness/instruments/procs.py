"""The package's one way to run external programs.

`run()` is for tools that finish (pio, tshark, openssl): argument list, no shell,
stdin closed, output to a log file, a timeout always, a result object back.
`ManagedProcess` is for tools that keep running (dumpcap, servers, the twin): it
owns the process group and stops it on every exit path: polite signal, bounded
wait, kill, reap. Nothing is ever killed by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from harness.instruments.reaper import die_with_parent, reaper
from harness.instruments.reaper_main import group_members
from harness.model.errors import DeadlineError, StateError, ToolFailedError, ToolMissingError

log = logging.getLogger(__name__)


def which(tool: str, *, package: str, extra_dirs: Sequence[str] = ("/usr/sbin", "/sbin")) -> str:
    """Absolute path of `tool`, or a ToolMissingError naming the package to install."""
    found = shutil.which(tool)
    if not found:
        for d in extra_dirs:
            candidate = Path(d) / tool
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found = str(candidate)
                break
    if not found:
        raise ToolMissingError(
            f"{tool} is not installed",
            seen=f"no {tool} on PATH ({os.environ.get('PATH', '')})",
            fix=f"run the set-up (scripts/dev.sh) or: apt-get install {package}",
        )
    return found


@dataclass(frozen=True)
class RunResult:
    cmd: tuple[str, ...]
    returncode: int
    duration: float
    log_path: Path | None
    output: str  # stdout+stderr, also written to log_path

    def __repr__(self) -> str:
        return f"<RunResult rc={self.returncode} {self.duration:.2f}s {' '.join(self.cmd)[:80]}>"

    def check(self, what: str, fix: str) -> RunResult:
        if self.returncode != 0:
            tail = "\n".join(self.output.splitlines()[-15:])
            raise ToolFailedError(
                f"{what} failed (exit {self.returncode}): {' '.join(self.cmd)}",
                seen=tail,
                fix=fix,
                log=self.log_path,
            )
        return self


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    # The reaper's token rides in every child's environment, so it finds grandchildren too.
    return {**os.environ, **(env or {}), **reaper().child_env()}


def _group_left(pgid: int) -> bool:
    """Live members left in process group `pgid`. Signal 0 to the group answers "none"
    at once in the usual case; only a group that still has a process (perhaps just a
    zombie) costs the scan of /proc that tells the living from the dead."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone's process, maybe ours under another user: look closer
    return bool(group_members(pgid))


def _kill_group(proc: subprocess.Popen[bytes], first: int, grace: float) -> None:
    """Signal the process group, wait `grace`, then SIGKILL and reap.

    A leader that already exited may have left members in its group (Apache's
    workers, a compiler under pio): while any is alive the group id cannot be
    reused, so they are killed by group too.
    """
    if proc.poll() is not None:
        if _group_left(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        reaper().untrack_group(proc.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, first)
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    if _group_left(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    reaper().untrack_group(proc.pid)


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    append_log: bool = False,
) -> RunResult:
    """Run `cmd` to completion within `timeout` seconds; never raises for exit codes."""
    cmd = tuple(str(c) for c in cmd)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_child_env(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(
            f"cannot run {cmd[0]}",
            seen=str(exc),
            fix="run the set-up (scripts/dev.sh) so the tool is installed",
        ) from None
    reaper().track_group(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGTERM, 2.0)
        out = proc.stdout.read() if proc.stdout else b""
        _write_log(log_path, out, append_log)
        raise DeadlineError(
            f"{' '.join(cmd)} did not finish within {timeout:.0f} s",
            seen=out.decode(errors="replace")[-800:],
            fix="look at the log; raise the timeout only if the tool is just slow",
            log=log_path,
        ) from None
    except BaseException:
        # Ctrl-C or any other exit path: never leave the child behind.
        _kill_group(proc, signal.SIGTERM, 2.0)
        raise
    _kill_group(proc, signal.SIGTERM, 2.0)  # only what it left in its group, if anything
    _write_log(log_path, out, append_log)
    return RunResult(
        cmd=cmd,
        returncode=proc.returncode,
        duration=time.monotonic() - started,
        log_path=log_path,
        output=out.decode(errors="replace"),
    )


def _write_log(path: Path | None, data: bytes, append: bool) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab" if append else "wb") as f:
        f.write(data)


class ProcState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"


class ManagedProcess:
    """A long-running child in its own process group, stopped on every exit path.

    Output goes to `log_path` (never a pipe nobody reads, which would block the
    child once the pipe fills).
    """

    def __init__(self, name: str, cmd: Sequence[str], *, log_path: Path) -> None:
        self.name = name
        self.cmd = tuple(str(c) for c in cmd)
        self.log_path = log_path
        self.state = ProcState.IDLE
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        pid = self._proc.pid if self._proc else None
        return f"<ManagedProcess {self.name} pid={pid} {self.state}>"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        pass_fds: Sequence[int] = (),
        stdout_pipe: bool = False,
        stdin_pipe: bool = False,
        preexec_user: tuple[int, int] | None = None,
    ) -> subprocess.Popen[bytes]:
        if self.state is ProcState.RUNNING:
            raise StateError(
                f"{self!r}.start() in state 'running': expected one of idle, stopped",
                fix="stop() it first",
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout_pipe else logf,
                stderr=logf,
                env=_child_env(env),
                cwd=cwd,
                pass_fds=tuple(pass_fds),
                start_new_session=True,
                preexec_fn=die_with_parent(),
                user=preexec_user[0] if preexec_user else None,
                group=preexec_user[1] if preexec_user else None,
            )
        except FileNotFoundError as exc:
            raise ToolMissingError(
                f"cannot start {self.name}: {self.cmd[0]} not found",
                seen=str(exc),
                fix="run the set-up (scripts/dev.sh)",
            ) from None
        finally:
            logf.close()
        reaper().track_group(self._proc.pid)
        self.state = ProcState.RUNNING
        log.debug("started %s pid=%s: %s", self.name, self._proc.pid, " ".join(self.cmd))
        return self._proc

    def poll(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float) -> int:
        if self._proc is None:
            raise StateError(f"{self!r}.wait() in state 'idle': expected running or stopped")
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DeadlineError(
                f"{self.name} did not exit within {timeout:.1f} s",
                log=self.log_path,
            ) from None

    def send_signal(self, sig: int) -> None:
        if self.alive() and self._proc is not None:
            os.killpg(self._proc.pid, sig)

    def stop(self, *, sig: int = signal.SIGTERM, grace: float = 3.0) -> int | None:
        """Stop the whole process group; safe to call in any state, any number of times."""
        if self._proc is None:
            self.state = ProcState.STOPPED
            return None
        _kill_group(self._proc, sig, grace)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe:
                with contextlib.suppress(OSError):
                    pipe.close()
        self.state = ProcState.STOPPED
        return self._proc.returncode

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def check_running(proc: ManagedProcess, what: str) -> None:
    """Raise a ToolFailedError with the log tail when `proc` already exited."""
    rc = proc.poll()
    if rc is not None:
        tail = ""
        if proc.log_path.exists():
            tail = "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-15:])
        raise ToolFailedError(
            f"{proc.name} exited (code {rc}) {what}",
            seen=tail,
            fix="read the log: the tool says why it stopped",
            log=proc.log_path,
        )
