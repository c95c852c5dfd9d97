"""Apache's logs, mirrored into the run directory while it runs and once more after it
stopped: its raw error and access logs, its key log, and `server.log` rebuilt from
them as the same JSON lines the builtin backend writes (analysis/apachelog.py).

Apache writes into its own work folder (the run directory may be private to the
harness's user); a thread copies what grew every MIRROR_INTERVAL, so the runner
can follow `server.log` while the server runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis import apachelog

log = logging.getLogger(__name__)

MIRROR_INTERVAL = 0.05


@dataclass
class LogMirror:
    """`pairs` (Apache's file -> the run directory's copy); the first two are the error
    and the access log. `listening` completes Apache's listening event (it does not
    log its port or profile); `exclude_peers` are the harness's own probe connections."""

    pairs: tuple[tuple[Path, Path], ...]
    server_log: Path
    listening: dict[str, object]
    exclude_peers: set[tuple[str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self, name: str) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(MIRROR_INTERVAL):
            try:
                self.sync()
            except Exception:
                # A failed pass is retried on the next tick; stop() runs the last one and raises.
                log.exception("apache log mirror for %s", self.server_log.parent)

    def stop(self) -> None:
        """End the thread, then one last pass (its errors are raised)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
        self.sync()

    def sync(self) -> None:
        """Copy what grew and rewrite server.log from it."""
        with self._lock:
            changed = False
            for src, dst in self.pairs:
                changed |= _copy_if_grown(src, dst)
            if changed or not self.server_log.exists():
                self._write_server_log()

    def _write_server_log(self) -> None:
        (_, error_copy), (_, access_copy) = self.pairs[:2]
        error_text = error_copy.read_text(errors="replace") if error_copy.exists() else ""
        access_text = access_copy.read_text(errors="replace") if access_copy.exists() else ""
        events = [
            apachelog.with_fields(e, **self.listening) if e.kind == "server_listening" else e
            for e in apachelog.parse_apache_logs(
                error_text, access_text, exclude_peers=self.exclude_peers
            )
        ]
        tmp = self.server_log.with_name(".server.log.tmp")
        tmp.write_text(apachelog.server_log_text(events), encoding="utf-8")
        # Atomic: the runner polls server.log while the server runs.
        os.replace(tmp, self.server_log)


def _copy_if_grown(src: Path, dst: Path) -> bool:
    """Copy `src` over `dst` when its size differs (Apache only appends)."""
    try:
        size = src.stat().st_size
    except FileNotFoundError:
        return False
    with contextlib.suppress(FileNotFoundError):
        if dst.stat().st_size == size:
            return False
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    shutil.copymode(src, tmp)  # the keylog stays as private as Apache made it
    os.replace(tmp, dst)
    return True
