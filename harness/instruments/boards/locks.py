"""One process at a time per serial port, across processes: an fcntl lock file per port
in a runtime dir. The holder writes its pid and command line, so the error a second
process gets names who holds the port. The kernel drops the lock when the holder dies
(Ctrl-C, kill -9): nothing stays locked."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.model.errors import SerialError


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = Path(base) / f"esp-tls-hil-{os.getuid()}" / "port-locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def lock_path(port: str) -> Path:
    real = os.path.realpath(port) if port.startswith("/") else port
    slug = re.sub(r"[^A-Za-z0-9]+", "_", real).strip("_")[-40:]
    digest = hashlib.sha256(real.encode()).hexdigest()[:8]
    return runtime_dir() / f"{slug}-{digest}.lock"


def _holder(path: Path) -> str:
    try:
        pid = int(path.read_text().split(maxsplit=1)[0])
    except (OSError, ValueError, IndexError):
        return "another process (its pid is not recorded yet)"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmd = ""
    return f"pid {pid}" + (f" ({cmd})" if cmd else "")


@contextlib.contextmanager
def port_lock(port: str) -> Iterator[Path]:
    path = lock_path(port)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SerialError(
                f"port {port} is in use by {_holder(path)}",
                fix="wait for that process to finish, or stop it; one harness process "
                "per port at a time",
            ) from None
        os.ftruncate(fd, 0)
        cmd = Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        os.pwrite(fd, f"{os.getpid()} {cmd}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
