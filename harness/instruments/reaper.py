"""Every process the harness starts dies with it, even when the harness is SIGKILLed.

Three layers, each for a case the one before cannot cover:

1. A direct child gets PR_SET_PDEATHSIG (SIGTERM when the harness thread that
   started it ends). The kernel clears it when a child changes its user (Apache
   through setpriv) or execs a binary with capabilities (dumpcap), and it never
   reaches grandchildren (Apache's workers, pio's scons and compilers).
2. The reaper (`reaper_main.py`), a small watchdog process in a session of its
   own, started with the first child. The harness tells it each process group it
   starts and each private folder it makes; when its stdin pipe closes (the
   harness exited, however), it stops those groups and every process carrying the
   harness's token in its environment, and deletes the folders.
3. The reaper keeps its list in a state file. If it was killed too, the next
   harness to start a process (`sweep_stale`) finds the file of a harness that is
   gone and does the reaper's work: stale servers stop, Apache's folders with a
   private key go.

Processes are identified by pid and start time, or by the token: never by name.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness.instruments.reaper_main import TOKEN_VAR, cleanup, process_start
from harness.model.errors import ConfigError, ToolFailedError

log = logging.getLogger(__name__)

REAPER = Path(__file__).resolve().with_name("reaper_main.py")
STATE_DIR_VAR = "HIL_STATE_DIR"
_PR_SET_PDEATHSIG = 1
_STALE_REAPER_WAIT = 10.0
_READY_TIMEOUT = 10.0


def state_dir() -> Path:
    """A folder of this user's, private: $HIL_STATE_DIR or <tmp>/hil-state-<uid>."""
    configured = os.environ.get(STATE_DIR_VAR)
    default = Path(tempfile.gettempdir()) / f"hil-state-{os.getuid()}"
    path = Path(configured) if configured else default
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid():
        raise ConfigError(
            f"the harness's state folder {path} is not a folder of this user",
            seen=f"owner uid {st.st_uid}, mode {st.st_mode:o}",
            fix=f"remove it, or set {STATE_DIR_VAR} to a folder of your own",
        )
    return path


class Reaper:
    """The harness side of the watchdog: one per harness process, started lazily."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid that started the watchdog (a fork must start its own)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._owner == os.getpid() else None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._owner == os.getpid() and self._proc.poll() is None:
            return self._proc
        folder = state_dir()
        sweep_stale(folder)
        env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
        self._proc = subprocess.Popen(
            [sys.executable, "-S", "-E", REAPER, folder / f"{self.token}.json", self.token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self._owner = os.getpid()
        self._await_ready(self._proc)
        atexit.register(self._close)
        log.debug("reaper pid %s watches this harness (token %s)", self._proc.pid, self.token)
        return self._proc

    @staticmethod
    def _await_ready(proc: subprocess.Popen[bytes]) -> None:
        """Until the reaper wrote its state file (a bare interpreter starts in ~20 ms)."""
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], _READY_TIMEOUT)
        line = proc.stdout.readline() if readable else b""
        proc.stdout.close()
        if line.strip() != b"ready":
            proc.kill()
            proc.wait()
            raise ToolFailedError(
                "the harness's reaper did not start",
                seen=f"it said {line!r} within {_READY_TIMEOUT:.0f} s",
                fix=f"check that {state_dir()} is writable, or set {STATE_DIR_VAR}",
            )

    def _tell(self, line: str) -> None:
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None
            try:
                proc.stdin.write(line.encode() + b"\n")
                proc.stdin.flush()
            except BrokenPipeError:
                # The reaper died (killed by hand): start another and tell it again.
                self._proc = None
                proc = self._ensure()
                assert proc.stdin is not None
                proc.stdin.write(line.encode() + b"\n")
                proc.stdin.flush()

    def _close(self) -> None:
        """At a normal exit: end the pipe and let the reaper finish its (empty) round."""
        proc = self._proc
        if proc is None or self._owner != os.getpid():
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def child_env(self) -> dict[str, str]:
        """What every child's environment carries so the reaper can find its descendants."""
        return {TOKEN_VAR: self.token}

    def start(self) -> None:
        """Start the watchdog now (and sweep what killed harnesses left)."""
        with self._lock:
            self._ensure()

    def track_group(self, pid: int) -> None:
        start = process_start(pid)
        if start is not None:
            self._tell(f"group {pid} {start}")

    def untrack_group(self, pid: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                self._tell(f"ungroup {pid}")

    def track_dir(self, path: Path) -> None:
        self._tell(f"dir {path}")

    def untrack_dir(self, path: Path) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                self._tell(f"undir {path}")


# One per harness process by nature: it watches this very process. The only module-level
# state of the package; a fork gets a reaper of its own (see Reaper._ensure).
REAPER_INSTANCE = Reaper()


def reaper() -> Reaper:
    return REAPER_INSTANCE


def sweep_stale(folder: Path | None = None) -> list[int]:
    """Clean up after harnesses that died with their reaper: returns the pids signalled."""
    folder = folder or state_dir()
    signalled: list[int] = []
    for path in sorted(folder.glob("*.json")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            harness_pid, harness_start = state["harness"]
            reaper_pid, reaper_start = state["reaper"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not ours: left alone
        if process_start(harness_pid) == harness_start:
            continue  # that harness still runs
        if _wait_gone(reaper_pid, reaper_start, _STALE_REAPER_WAIT):
            # Its reaper finished the job (and removed the file), or was killed too.
            if not path.exists():
                continue
        else:
            log.warning(
                "reaper %d of a dead harness still runs after %.0f s",
                reaper_pid,
                _STALE_REAPER_WAIT,
            )
            continue
        pids = cleanup(state)
        if pids:
            log.warning(
                "stopped %d process(es) left by a harness that was killed (pid %d): %s",
                len(pids),
                harness_pid,
                " ".join(map(str, sorted(pids))),
            )
        signalled += pids
        path.unlink(missing_ok=True)
    return signalled


def _wait_gone(pid: int, start: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_start(pid) == start:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _libc_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this thread ends.

    Only from the main thread: the kernel sends it when the thread that forked the
    child exits, and a worker thread may end long before the harness does.
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl: too late to ask
            os._exit(1)

    return preexec
