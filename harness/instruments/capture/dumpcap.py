"""Packet capture with dumpcap (layer 3 adapter): ready when really capturing, lossless stop.

Why it is built this way (measured with dumpcap 4.0 / libpcap 1.10 on Linux):

- dumpcap reads the kernel's TPACKET_V3 ring, whose blocks reach user space only
  when full or after the 250 ms block timeout dumpcap asks for (it cannot ask for
  immediate mode). Signalling dumpcap earlier than that after the last packet
  throws the unfinished block away: the lost last packets of the environment notes.
- Writing to a regular file, dumpcap flushes about every 500 ms, so a packet takes up
  to ~750 ms to show in the file. Writing to a pipe it flushes every packet. So
  dumpcap writes to a pipe (`-w -`) and a thread here copies it into `out_path`,
  watching the bytes as they pass.
- The stop (and the start) send a marker: one small UDP datagram to a port of our
  own on 127.0.0.1, carrying a random nonce, followed by a few large filler
  datagrams that fill the kernel block so it is handed over at once instead of at
  the timeout. Packets are delivered in order, so once the nonce has passed through
  the pipe every packet sent before it is with dumpcap, and SIGINT then loses
  nothing: dumpcap writes out what it has read before exiting. This takes ~1 ms
  instead of a blind sleep, and it is a proof, not a probability. Without the
  filler (if a libpcap used bigger blocks) the wait still ends at the kernel timeout.
- The marker clause is added to the caller's filter (`... or (udp and dst host
  127.0.0.1 and dst port M)`), so any filter works with it. The small marker
  datagrams stay in the file (a capture comment says so; wire decoding looks at
  TCP only); the ~300 KB of filler of each stop is left out of it as it passes
  (pcapng.PacketFilter): the file holds the user's traffic, not the harness's.
- On an interface that does not carry 127.0.0.1 (not `lo`/`any`) no marker can be
  seen; there the stop waits out the kernel block timeout with a margin and the
  result says `verified=False`.
- The ring buffer for long sessions (`Ring`) is kept here, in the copy thread, not
  by dumpcap's `-b filesize:/files:`: dumpcap's ring writes regular files (the
  ~500 ms flush again) and cannot write to a pipe, so the marker proof would be
  lost. The copy thread reads the pcapng stream block by block, and at a block
  boundary past the size limit starts the next file with the section header and
  interface blocks it saw first (each file is a valid capture on its own), then
  deletes the oldest beyond the count. Nothing is lost at a switch: the bytes are
  already in our hands.
- A session capture (`split=True`) runs across many runs and cuts its stream into one
  file per run at a start and a stop marker (parts.py): each run still gets a file of
  its own, proven complete by the same marker, without paying dumpcap's start and
  stop (~0.1 s) each time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from harness.instruments import procs
from harness.instruments.capture.dumpcap_log import PRIVILEGE_FIX, counts, fix_for, log_tail
from harness.instruments.capture.markers import Markers, is_filler
from harness.instruments.capture.parts import Part, Parts
from harness.instruments.capture.pcapng import PacketFilter
from harness.instruments.capture.ring import Ring, _RingFiles
from harness.instruments.capture.sink import PipeSink
from harness.model.errors import CaptureError, ConfigError, HilError, StateError

log = logging.getLogger(__name__)

# dumpcap's kernel capture buffer in MiB (its default is 2).
KERNEL_BUFFER_MIB = 16

# dumpcap's pcap read timeout (CAP_READ_TIMEOUT): the longest a packet waits in the kernel.
KERNEL_BLOCK_TIMEOUT = 0.25
_UNVERIFIED_STOP_WAIT = KERNEL_BLOCK_TIMEOUT + 0.15
LOOPBACK_INTERFACES = frozenset({"lo", "any"})


class CaptureState(StrEnum):
    IDLE = "idle"
    CAPTURING = "capturing"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CaptureResult:
    path: Path
    size: int  # bytes written to `path`
    ready_seconds: float  # start() call -> capture proven to run
    stop_seconds: float  # stop() call -> dumpcap reaped
    verified: bool  # the stop marker reached the file: no packet before stop() is missing
    received: int | None  # dumpcap's own counts, from its exit summary
    dropped: int | None  # lost: the kernel's, dumpcap's and the interface's drops
    returncode: int | None
    files: tuple[Path, ...] = ()  # with a Ring: the files kept, oldest first
    flushed: int = 0  # reached dumpcap after the stop marker (filler), not written


class Capture:
    """dumpcap writing `out_path` (pcapng) from `interface` with capture filter `bpf`.

    With a `ring`, the capture goes to `STEM_00001.pcapng`, `STEM_00002.pcapng`, ...
    next to `out_path`, the oldest deleted beyond `ring.files`; `result.files` lists
    those kept.

    `start()` returns once a probe datagram has gone through the filter into the
    file; `stop()` returns once a marker sent after the caller's traffic is in the
    file and dumpcap has been reaped. Both safe to repeat; a context manager
    starts on entry and stops on every exit path.
    """

    def __init__(
        self,
        out_path: Path,
        *,
        interface: str = "lo",
        bpf: str,
        log_path: Path,
        ring: Ring | None = None,
        user: str | None = None,
        split: bool = False,
    ) -> None:
        if split and (ring is not None or interface not in LOOPBACK_INTERFACES):
            raise ConfigError(
                f"a split capture on {interface!r}{' with a ring' if ring else ''}: "
                "the cut needs the markers (lo or any) and one stream",
                fix="split only a loopback capture without a ring",
            )
        self.split = split  # cut into per-run parts (begin_part/end_part); out_path: the rest
        self.out_path = Path(out_path)
        self.interface = interface
        self.bpf = bpf
        self.log_path = Path(log_path)
        self.ring = ring
        self.user = user  # run dumpcap as this user (it then needs its own capture rights)
        self.state = CaptureState.IDLE
        self.capture_filter = bpf  # as given to dumpcap, once started
        self.result: CaptureResult | None = None
        self._proc: procs.ManagedProcess | None = None
        self._sink: PipeSink | None = None
        self._out: PacketFilter | None = None
        self._parts: Parts | None = None
        self._markers = Markers()
        self._ready_seconds = 0.0

    def __repr__(self) -> str:
        return f"<Capture {self.interface} {self.bpf!r} -> {self.out_path} {self.state}>"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def uses_marker(self) -> bool:
        return self.interface in LOOPBACK_INTERFACES

    @property
    def marker_port(self) -> int | None:
        return self._markers.port

    # -- start -------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> Capture:
        if self.state is not CaptureState.IDLE:
            raise StateError(
                f"{self!r}.start() in state '{self.state}': expected idle",
                fix="a Capture records one file: make a new Capture for the next one",
            )
        started = time.monotonic()
        deadline = started + timeout
        dumpcap = procs.which("dumpcap", package="wireshark-common")
        try:
            # A 16 MiB kernel buffer (dumpcap's default is 2): a burst of handshakes on a
            # loaded machine dropped one packet in the kernel with the default.
            cmd = [dumpcap, "-i", self.interface, "-B", str(KERNEL_BUFFER_MIB)]
            if self.uses_marker:
                self._markers.open()
            self.capture_filter = self._markers.widen(self.bpf)
            if self.capture_filter:
                cmd += ["-f", self.capture_filter]
            cmd += ["--capture-comment", self._comment(), "-w", "-"]
            self.out_path.parent.mkdir(parents=True, exist_ok=True)
            if self.split:
                target = self._parts = Parts(self.out_path)
            elif self.ring is not None:
                target = _RingFiles(self.out_path, self.ring)
            else:
                target = self.out_path.open("wb")
            self._out = PacketFilter(target, is_filler, str(self.out_path))
            self._proc = procs.ManagedProcess("dumpcap", cmd, log_path=self.log_path)
            popen = self._proc.start(stdout_pipe=True, preexec_user=self._user_ids())
            assert popen.stdout is not None  # stdout_pipe=True guarantees it
            self._sink = PipeSink(os.dup(popen.stdout.fileno()), self._out, f"capture-{popen.pid}")
            self._sink.start()
            self.state = CaptureState.CAPTURING
            self._await_header(deadline, timeout)
            if self.uses_marker:
                self._await_probe(deadline, timeout)
        except BaseException:
            self._teardown()
            self.state = CaptureState.STOPPED
            raise
        self._ready_seconds = time.monotonic() - started
        log.info(
            "capture on %s ready in %.1f ms: %s",
            self.interface,
            self._ready_seconds * 1e3,
            self.out_path,
        )
        return self

    def _user_ids(self) -> tuple[int, int] | None:
        if self.user is None:
            return None
        try:
            entry = pwd.getpwnam(self.user)
        except KeyError:
            raise ConfigError(
                f"{self!r}: no user {self.user!r} to run dumpcap as",
                fix="name an existing user, or run dumpcap as the harness's own user",
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _comment(self) -> str:
        if not self.uses_marker:
            return f"esp-tls-hil capture on {self.interface}, filter {self.bpf!r}"
        return (
            f"esp-tls-hil capture on {self.interface}, filter {self.bpf!r}; UDP datagrams "
            f"to 127.0.0.1:{self.marker_port} are the harness's start/stop markers (their "
            "filler datagrams are left out of this file)"
        )

    def _await_header(self, deadline: float, timeout: float) -> None:
        assert self._sink is not None and self._proc is not None
        # dumpcap writes the pcapng header once the socket is open and filtered;
        # "Capturing on" on stderr comes before that.
        if not self._sink.wait_data(deadline - time.monotonic()):
            self._raise_not_capturing(timeout)

    def _await_probe(self, deadline: float, timeout: float) -> None:
        assert self._sink is not None
        nonce = self._send_marker()
        if not self._sink.wait_nonce(nonce, deadline - time.monotonic()):
            self._raise_not_capturing(timeout, probe=True)

    def _raise_not_capturing(self, timeout: float, *, probe: bool = False) -> None:
        assert self._proc is not None
        with contextlib.suppress(procs.DeadlineError):
            self._proc.wait(0.2)  # an exiting dumpcap finishes its message first
        rc = self._proc.poll()
        tail = log_tail(self.log_path)
        if rc is not None:
            raise CaptureError(
                f"dumpcap refused to capture on {self.interface!r} (exit {rc})",
                seen=tail,
                fix=fix_for(tail, self.interface, self.user),
                log=self.log_path,
            )
        if probe:
            raise CaptureError(
                f"dumpcap runs on {self.interface!r} but its file did not get the probe "
                f"datagram to 127.0.0.1:{self.marker_port} within {timeout:.1f} s",
                seen=tail,
                fix="check that the interface carries 127.0.0.1 and that the machine is "
                f"not overloaded; the capture filter was: {self.capture_filter!r}",
                log=self.log_path,
            )
        raise CaptureError(
            f"dumpcap wrote nothing on {self.interface!r} within {timeout:.1f} s",
            seen=tail,
            fix=PRIVILEGE_FIX,
            log=self.log_path,
        )

    def _send_marker(self) -> bytes:
        assert self._sink is not None
        # Watched for before it is sent: it may pass through the pipe at once.
        nonce = self._markers.send(filler=True, before=self._sink.want)
        return nonce

    # -- parts (split=True) --------------------------------------------------------------

    def begin_part(self, path: Path, *, timeout: float = 3.0) -> None:
        """From a start marker sent now, the stream goes to `path` (a run's capture)."""
        parts = self._check_split("begin_part")
        nonce = self._markers.send(filler=True, before=lambda n: parts.open_at(n, Path(path)))
        if not parts.wait(nonce, timeout)[0]:
            self._raise_not_capturing(timeout, probe=True)

    def end_part(self, *, timeout: float = 3.0) -> Part:
        """Close the run's file after a stop marker sent now: every packet sent before
        this call is in it. A CaptureError when the marker did not come through."""
        parts = self._check_split("end_part")
        nonce = self._markers.send(filler=True, before=parts.close_at)
        passed, part = parts.wait(nonce, timeout)
        if not passed or part is None:
            raise CaptureError(
                f"the stop marker of a run's part did not pass through {self!r} within "
                f"{timeout:.1f} s: its last packets may be missing",
                seen=log_tail(self.log_path),
                fix="the session capture is replaced for the next run; check the log for "
                "dropped packets",
                log=self.log_path,
            )
        return part

    def _check_split(self, method: str) -> Parts:
        if not self.split or self._parts is None or self.state is not CaptureState.CAPTURING:
            raise StateError(
                f"{self!r}.{method}() in state '{self.state}'"
                f"{'' if self.split else ' without split=True'}: expected a running split capture",
                fix="start a Capture(..., split=True) first",
            )
        if self._proc is not None and self._proc.poll() is not None:
            raise CaptureError(
                f"dumpcap of {self!r} exited (code {self._proc.poll()})",
                seen=log_tail(self.log_path),
                fix="the session starts a new capture for the next run; read the log",
                log=self.log_path,
            )
        return self._parts

    def alive(self) -> bool:
        return (
            self.state is CaptureState.CAPTURING
            and self._proc is not None
            and self._proc.poll() is None
        )

    # -- stop ----------------------------------------------------------------------------

    def stop(self, *, timeout: float = 3.0) -> CaptureResult:
        """Stop without losing a packet sent before this call; repeat calls return the result."""
        if self.result is not None:
            return self.result
        if self.state is CaptureState.IDLE:
            self.state = CaptureState.STOPPED
            self.result = CaptureResult(self.out_path, 0, 0.0, 0.0, False, None, None, None)
            return self.result
        started = time.monotonic()
        verified = False
        died_early: int | None = None
        try:
            assert self._proc is not None and self._sink is not None
            died_early = self._proc.poll()
            if died_early is None:
                if self.uses_marker:
                    nonce = self._send_marker()
                    verified = self._sink.wait_nonce(nonce, timeout)
                else:
                    time.sleep(_UNVERIFIED_STOP_WAIT)
                self._interrupt()
                # dumpcap writes what it read, then exits; EOF on the pipe says so.
                self._sink.wait_eof(timeout)
        finally:
            rc = self._teardown()
        stop_seconds = time.monotonic() - started
        received, dropped, flushed = counts(self.log_path)
        if not verified and dropped is not None:
            # No marker in the file: a flushed packet may be the caller's; count it lost.
            dropped, flushed = dropped + flushed, 0
        files = tuple(self._out.kept) if self._out is not None else ()
        path = files[-1] if files else self.out_path
        self.result = CaptureResult(
            path=path,
            size=sum(f.stat().st_size for f in files or (path,) if f.exists()),
            files=files,
            ready_seconds=self._ready_seconds,
            stop_seconds=stop_seconds,
            verified=verified,
            received=received,
            dropped=dropped,
            returncode=rc,
            flushed=flushed,
        )
        log.info(
            "capture on %s stopped in %.1f ms (verified=%s, dropped=%s): %s",
            self.interface,
            stop_seconds * 1e3,
            verified,
            dropped,
            self.out_path,
        )
        self._check_result(died_early, timeout)
        return self.result

    def _interrupt(self) -> None:
        # SIGINT is dumpcap's "finish the file and exit"; the group only holds dumpcap.
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):  # it may exit just now
                self._proc.send_signal(signal.SIGINT)

    def _check_result(self, died_early: int | None, timeout: float) -> None:
        assert self.result is not None
        if self._sink is not None and self._sink.error is not None:
            raise CaptureError(
                f"copying dumpcap's output to {self.out_path} failed",
                seen=repr(self._sink.error),
                fix="check the disk space and permissions of the run directory",
                log=self.log_path,
            )
        if died_early is not None:
            raise CaptureError(
                f"dumpcap on {self.interface!r} exited during the capture (exit {died_early})",
                seen=log_tail(self.log_path),
                fix="read the log: the capture may be missing packets",
                log=self.log_path,
            )
        if self.uses_marker and not self.result.verified:
            raise CaptureError(
                f"the stop marker did not reach {self.out_path} within {timeout:.1f} s: "
                "the last packets may be missing",
                seen=log_tail(self.log_path),
                fix="check for dropped packets in the log; a loaded machine may need a "
                "longer stop timeout",
                log=self.log_path,
            )
        if self.result.dropped:
            log.warning(
                "dumpcap dropped %d packets on %s (%s)",
                self.result.dropped,
                self.interface,
                self.log_path,
            )

    def _teardown(self) -> int | None:
        """Release everything; safe in any state and on every error path."""
        rc = None
        if self._proc is not None:
            rc = self._proc.stop(sig=signal.SIGTERM, grace=3.0)
        if self._sink is not None:
            self._sink.join(timeout=5.0)
            if self._sink.is_alive():
                log.error("capture sink for %s did not finish", self.out_path)
        if self._out is not None:
            self._out.close()
        self._markers.close()
        self.state = CaptureState.STOPPED
        return rc

    def __enter__(self) -> Capture:
        if self.state is CaptureState.IDLE:
            self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.stop()
            return
        try:
            self.stop()
        except HilError as stop_error:
            # The error already propagating is the one to report.
            log.warning("stopping %r after an error failed too: %s", self, stop_error)
