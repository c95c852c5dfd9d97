"""Reading captures with tshark (layer 3 adapter): field text out, events via harness.analysis.wire.

One tshark run per capture (a start costs ~0.25 s), every field at once:
`read_fields` returns the fields as tab-separated text, `analyze_capture` feeds the
rows to the pure decoder while tshark is still printing them, so on a machine with
two cores decoding costs next to nothing on top of the tshark pass (the
`wire_analysis` benchmark measures exactly that ratio). tshark's stdout holds rows
only; its stderr goes to the log, where a capture cut short (dumpcap killed, disk
full) is recognised: what could be read is returned, marked partial. A missing or
non-capture file is a CaptureError naming it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import dataclasses
import logging
import os
import selectors
import signal
import struct
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.analysis import wire
from harness.analysis.wire import sections
from harness.instruments import procs
from harness.instruments.capture.pcapng import PACKET_BLOCKS, SHB, BlockSplitter
from harness.model.errors import CaptureError, DeadlineError, HilError

if TYPE_CHECKING:
    import pyshark

log = logging.getLogger(__name__)

# tshark's words for a file that ends in the middle of a packet or block.
_PARTIAL_MARKERS = ("appears to have been cut short", "appears to be damaged or corrupt")
_NOT_A_CAPTURE = (
    "isn't a capture file in a format tshark understands",
    "unknown file format",
    "isn't a capture file",
)
_CAPTURE_MAGICS = frozenset(
    bytes.fromhex(h) for h in ("0a0d0d0a", "a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1")
)
# stderr chatter that says nothing about the capture.
_NOISE = ('Running as user "root"',)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FieldsResult:
    text: str  # header line + one tab-separated row per displayed frame
    partial: bool  # the file ended early; `text` holds what could be read
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pass:
    partial: bool
    diagnostics: tuple[str, ...]


def tshark_command(
    pcap: Path,
    *,
    keylog: Path | None,
    fields: Sequence[str],
    display_filter: str,
    tls_ports: Sequence[int] = (),
) -> list[str]:
    """The one tshark invocation behind `read_fields` and `analyze_capture`."""
    tshark = procs.which("tshark", package="tshark")
    cmd = [tshark, "-n", "-r", str(pcap)]
    if keylog is not None:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    for port in tls_ports:
        cmd += ["-d", f"tcp.port=={int(port)},tls"]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += ["-T", "fields", "-E", "header=y", "-E", "separator=/t"]
    cmd += ["-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        cmd += ["-e", name]
    return cmd


def read_fields(
    pcap: Path,
    *,
    keylog: Path | None,
    fields: Sequence[str],
    display_filter: str,
    log_path: Path | None,
    timeout: float,
    tls_ports: Sequence[int] = (),
) -> FieldsResult:
    """Run tshark once over `pcap` and return the fields as text (see module doc)."""
    if not fields:
        raise CaptureError(f"read_fields({pcap}): no fields asked for", fix="pass FIELDS")
    lines: list[str] = []
    done = _run_pass(
        Path(pcap),
        tshark_command(
            pcap, keylog=keylog, fields=fields, display_filter=display_filter, tls_ports=tls_ports
        ),
        lines.extend,
        log_path=log_path,
        timeout=timeout,
    )
    return FieldsResult(
        text="".join(f"{line}\n" for line in lines if line),
        partial=done.partial,
        warnings=done.diagnostics,
    )


def analyze_capture(
    pcap: Path,
    keylog: Path | None,
    server_port: int,
    *,
    log_path: Path | None = None,
    timeout: float = 120.0,
) -> wire.WireAnalysis:
    """tshark once over the capture, its rows decoded as they come: the run's wire events."""
    decoder = wire.Decoder(server_port)
    done = _run_pass(
        Path(pcap),
        tshark_command(
            pcap,
            keylog=keylog,
            fields=wire.FIELDS,
            display_filter=f"tcp.port == {int(server_port)}",
            tls_ports=(server_port,),
        ),
        decoder.feed,
        log_path=log_path,
        timeout=timeout,
    )
    decoded = decoder.result(partial=done.partial)
    return dataclasses.replace(decoded, warnings=done.diagnostics + decoded.warnings)


class PrimedPass:
    """`analyze_capture` with tshark's start paid while the run is still going.

    tshark spends ~0.2 s of CPU loading its dissectors before it reads a byte; started
    as soon as the server's port is known, it does that beside the run's attempt, then
    reads the finished capture on its stdin. The command is `analyze_capture`'s with
    `-r -`, and its output goes through the same decoder and the same checks. `close()`
    stops it on every path (also when it was never fed).
    """

    def __init__(self, keylog: Path | None, server_port: int, *, log_path: Path) -> None:
        self.server_port = server_port
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.unlink(missing_ok=True)
        self.cmd = tshark_command(
            Path("-"),
            keylog=keylog,
            fields=wire.FIELDS,
            display_filter=f"tcp.port == {int(server_port)}",
            tls_ports=(server_port,),
        )
        self._proc = procs.ManagedProcess("tshark", self.cmd, log_path=self.log_path)
        self._popen = self._proc.start(stdout_pipe=True, stdin_pipe=True)

    def analyze(self, pcap: Path, *, timeout: float = 120.0) -> wire.WireAnalysis:
        pcap = Path(pcap)
        _check_file(pcap, self.log_path)
        stdin, stdout = self._popen.stdin, self._popen.stdout
        assert stdin is not None and stdout is not None  # both piped in __init__
        deadline = time.monotonic() + timeout

        def feed() -> None:
            # A thread: a capture larger than the pipe would block while tshark waits
            # for its stdout to be read.
            try:
                with pcap.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        stdin.write(chunk)
            except (BrokenPipeError, OSError) as exc:
                log.warning("tshark stopped reading %s: %s", pcap, exc)
            finally:
                with contextlib.suppress(OSError):
                    stdin.close()

        writer = threading.Thread(target=feed, name="hil-tshark-feed", daemon=True)
        writer.start()
        decoder = wire.Decoder(self.server_port)
        try:
            _pump(stdout.fileno(), decoder.feed, deadline, self.cmd, self.log_path)
            returncode = self._proc.wait(max(deadline - time.monotonic(), 0.1))
        except DeadlineError:
            raise _timeout(self.cmd, timeout, self.log_path) from None
        finally:
            writer.join(timeout=max(deadline - time.monotonic(), 0.1))
        done = _judge(pcap, returncode, self.log_path.read_text(errors="replace"), self.log_path)
        decoded = decoder.result(partial=done.partial)
        return dataclasses.replace(decoded, warnings=done.diagnostics + decoded.warnings)

    def close(self) -> None:
        self._proc.stop(sig=signal.SIGTERM, grace=2.0)


class StreamPass:
    """One tshark reading the captures of one server port one after the other, for a
    session's pooled server (harness.run.session): its start and its per-file set-up
    (~0.1 s loading name tables once the first bytes arrive, with or without -n) are
    paid once, not once a run.

    Each capture goes down tshark's stdin as a pcapng section of its own (the batch's
    trick, `analyze_captures`), its key log appended to the stream's own key log
    (tshark reads lines added to it later), and the rows of that section come back
    through `wire.sections.SectionSplitter`, renumbered as in a pass of its own. A
    section has as many rows as packets (no display filter, one pass): once all came,
    the analysis is done, without waiting for tshark to exit. A capture that is not
    one whole section, or any trouble of the stream (it then stays broken), gets
    `analyze_capture`'s own pass instead: a shortcut, never a different answer.
    """

    def __init__(self, keylog: Path, server_port: int, *, log_path: Path) -> None:
        self.server_port = server_port
        self.keylog = Path(keylog)
        self.log_path = Path(log_path)
        fd = os.open(self.keylog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)  # the sessions' secrets: the owner's only, before anything is written
        self.cmd = tshark_command(
            Path("-"),
            keylog=self.keylog,
            fields=sections.BATCH_FIELDS,
            display_filter="",
            tls_ports=(server_port,),
        )
        self.cmd.insert(1, "-l")  # a row out as soon as its packet is read
        self._proc = procs.ManagedProcess("tshark (stream)", self.cmd, log_path=self.log_path)
        self._popen = self._proc.start(stdout_pipe=True, stdin_pipe=True)
        # An empty section at once: tshark opens its "file" and loads its name tables
        # now, beside the first run, instead of when that run's capture arrives.
        assert self._popen.stdin is not None  # piped above
        self._popen.stdin.write(_EMPTY_SECTION)
        self._popen.stdin.flush()
        self._section = 1
        self._header: str | None = None
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._log_offset = 0
        self.broken = ""  # why it can no longer be used

    def __repr__(self) -> str:
        return f"<StreamPass port={self.server_port} sections={self._section} pid={self._proc.pid}>"

    @property
    def sections(self) -> int:
        return self._section

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def analyze(
        self, pcap: Path, keylog: Path | None, *, log_copy: Path, timeout: float = 30.0
    ) -> wire.WireAnalysis:
        """The capture's analysis, as `analyze_capture` gives it; its share of tshark's
        log goes to `log_copy` (the run's tshark.log)."""
        pcap = Path(pcap)
        _check_file(pcap, log_copy)
        data = pcap.read_bytes()
        frames = _frames_of_one_section(data)
        why = self.broken or ("" if frames is not None else "not one whole pcapng section")
        if not why and not self._proc.alive():
            why = self.broken = f"tshark exited (code {self._proc.poll()})"
        if not why:
            try:
                return self._stream(data, frames or 0, keylog, log_copy, timeout)
            except HilError as exc:
                why = self.broken = exc.what
        log.info("%s read on its own: %s", pcap, why)
        return analyze_capture(
            pcap, keylog, self.server_port, log_path=log_copy, timeout=max(timeout, 120.0)
        )

    def _stream(
        self, data: bytes, frames: int, keylog: Path | None, log_copy: Path, timeout: float
    ) -> wire.WireAnalysis:
        stdin = self._popen.stdin
        assert stdin is not None  # piped in __init__
        if keylog is not None and keylog.is_file():
            text = keylog.read_bytes()
            with self.keylog.open("ab") as keys:
                keys.write(text if text.endswith(b"\n") or not text else text + b"\n")
        self._section += 1
        decoder = wire.Decoder(self.server_port)
        splitter = sections.SectionSplitter([decoder], first=self._section)
        if self._header is not None:
            splitter.feed([self._header])
        deadline = time.monotonic() + timeout
        failed: list[BaseException] = []

        def feed() -> None:
            # A thread: a capture larger than the pipe would block while tshark waits
            # for its stdout to be read.
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                failed.append(exc)

        writer = threading.Thread(target=feed, name="hil-tshark-stream-feed", daemon=True)
        writer.start()
        try:
            self._read_section(splitter, frames, deadline)
        finally:
            writer.join(timeout=max(deadline - time.monotonic(), 0.1))
        if failed:
            raise CaptureError(f"tshark stopped reading its stream: {failed[0]}", log=self.log_path)
        diagnostics = self._log_slice(log_copy)
        if splitter.warnings:
            raise CaptureError(
                "the stream's rows did not read back whole",
                seen="\n".join(splitter.warnings[-5:]),
                fix="nothing to do: the capture is read on its own instead",
                log=self.log_path,
            )
        decoded = decoder.result(partial=False)
        return dataclasses.replace(decoded, warnings=diagnostics + decoded.warnings)

    def _read_section(
        self, splitter: sections.SectionSplitter, frames: int, deadline: float
    ) -> None:
        stdout = self._popen.stdout
        assert stdout is not None
        prefix = f"{self._section}\t"
        rows = 0
        with selectors.DefaultSelector() as selector:
            selector.register(stdout.fileno(), selectors.EVENT_READ)
            while rows < frames:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _timeout(self.cmd, None, self.log_path)
                if not selector.select(left):
                    continue
                chunk = os.read(stdout.fileno(), _CHUNK)
                if not chunk:
                    raise CaptureError(
                        f"tshark's stream ended (exit {self._proc.poll()})", log=self.log_path
                    )
                lines = (self._pending + self._text.decode(chunk)).split("\n")
                self._pending = lines.pop()
                for line in lines:
                    if not line:
                        continue
                    if self._header is None:
                        self._header = line
                    elif line.startswith(prefix):
                        rows += 1
                    splitter.feed([line])
        if self._pending:
            raise CaptureError("tshark wrote past the section's last row", seen=self._pending[:200])

    def _log_slice(self, copy: Path) -> tuple[str, ...]:
        """What tshark logged since the last capture, copied to the run's log."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_offset)
                text = f.read()
        except OSError:
            return ()
        self._log_offset += len(text)
        copy.write_bytes(text)
        stderr = text.decode(errors="replace")
        return tuple(
            line
            for line in stderr.splitlines()
            if line.strip() and not any(line.startswith(noise) for noise in _NOISE)
        )

    def close(self) -> None:
        # EOF ends tshark at once; a SIGTERM while it reads a pipe waits out the grace.
        stdin = self._popen.stdin
        if stdin is not None and self._proc.alive():
            with contextlib.suppress(OSError):
                stdin.close()
            with contextlib.suppress(DeadlineError):
                self._proc.wait(2.0)
        self._proc.stop(sig=signal.SIGTERM, grace=2.0)


# A pcapng section header (little-endian, v1.0, length unknown) and one Ethernet
# interface: a valid section with no packet.
_EMPTY_SECTION = struct.pack("<IIIHHqI", SHB, 28, 0x1A2B3C4D, 1, 0, -1, 28) + struct.pack(
    "<IIHHII", 0x00000001, 20, 1, 0, 0, 20
)


def _frames_of_one_section(data: bytes) -> int | None:
    """The packets of a capture that is one whole pcapng section; None otherwise."""
    splitter = BlockSplitter("stream section")
    types = [btype for btype, _ in splitter.feed(data)]
    if not types or types[0] != SHB or types.count(SHB) != 1 or None in types or splitter.rest():
        return None
    return sum(t in PACKET_BLOCKS for t in types)


def guess_server_port(pcap: Path, *, log_path: Path | None = None, timeout: float = 60.0) -> int:
    """The TLS server's port in a capture whose port nobody wrote down (`hil diagnose`).

    The port most connections were opened to (SYN without ACK); a capture that
    started after the connections did has no SYN, and then the port that answered a
    ClientHello (tshark spots TLS on any port by its heuristics only for
    handshakes, which is what is needed here).
    """
    fields = read_fields(
        Path(pcap),
        keylog=None,
        fields=(
            "tcp.srcport",
            "tcp.dstport",
            "tcp.flags.syn",
            "tcp.flags.ack",
            "tls.handshake.type",
        ),
        display_filter="(tcp.flags.syn == 1 && tcp.flags.ack == 0) || tls.handshake.type == 2",
        log_path=log_path,
        timeout=timeout,
    )
    opened: Counter[int] = Counter()
    answered: Counter[int] = Counter()
    for line in fields.text.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) != 5 or not (cells[0].isdigit() and cells[1].isdigit()):
            continue
        if cells[2] == "1" and cells[3] == "0":
            opened[int(cells[1])] += 1
        elif "2" in cells[4].split(","):
            answered[int(cells[0])] += 1
    for counts in (opened, answered):
        if counts:
            return counts.most_common(1)[0][0]
    raise CaptureError(
        f"no TCP connection start and no ServerHello in {pcap}: the server port is unknown",
        fix="pass the server's port (hil diagnose --port N)",
        log=log_path,
    )


def _run_pass(
    pcap: Path,
    cmd: Sequence[str],
    consume: Callable[[list[str]], object],
    *,
    log_path: Path | None,
    timeout: float,
) -> _Pass:
    """Run tshark, hand its stdout to `consume` a batch of whole lines at a time."""
    _check_file(pcap, log_path)
    with contextlib.ExitStack() as stack:
        if log_path is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hil-tshark-"))
            stderr_log = Path(tmp) / "tshark.log"
        else:
            stderr_log = Path(log_path)
            stderr_log.parent.mkdir(parents=True, exist_ok=True)
            stderr_log.unlink(missing_ok=True)  # the log of this pass only
        proc = procs.ManagedProcess("tshark", cmd, log_path=stderr_log)
        stack.callback(proc.stop, sig=signal.SIGTERM, grace=2.0)
        popen = proc.start(stdout_pipe=True)
        assert popen.stdout is not None  # stdout_pipe=True guarantees it
        deadline = time.monotonic() + timeout
        _pump(popen.stdout.fileno(), consume, deadline, cmd, log_path)
        try:
            returncode = proc.wait(max(deadline - time.monotonic(), 0.1))
        except DeadlineError:
            raise _timeout(cmd, timeout, log_path) from None
        stderr = stderr_log.read_text(errors="replace")
    return _judge(pcap, returncode, stderr, log_path)


def _pump(
    fd: int,
    consume: Callable[[list[str]], object],
    deadline: float,
    cmd: Sequence[str],
    log_path: Path | None,
) -> None:
    # Reading in large chunks and splitting here costs far less than a readline per row.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _timeout(cmd, None, log_path)
            if not selector.select(left):
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            lines = (pending + text.decode(chunk)).split("\n")
            pending = lines.pop()
            consume(lines)
    rest = pending + text.decode(b"", final=True)
    if rest:
        consume([rest])


def _timeout(cmd: Sequence[str], timeout: float | None, log_path: Path | None) -> DeadlineError:
    within = f" within {timeout:.0f} s" if timeout is not None else " before its deadline"
    return DeadlineError(
        f"tshark did not finish{within}: {' '.join(cmd)[:200]}",
        fix="a very large capture needs a longer timeout; otherwise see the log",
        log=log_path,
    )


def _judge(pcap: Path, returncode: int, stderr: str, log_path: Path | None) -> _Pass:
    diagnostics = tuple(
        line
        for line in stderr.splitlines()
        if line.strip() and not any(line.startswith(noise) for noise in _NOISE)
    )
    low = stderr.lower()
    if any(marker.lower() in low for marker in _NOT_A_CAPTURE):
        raise CaptureError(
            f"{pcap} is not a capture file tshark can read",
            seen="\n".join(diagnostics[-5:]),
            fix="point at the .pcapng the capture wrote",
            log=log_path,
        )
    partial = any(marker in low for marker in _PARTIAL_MARKERS)
    if returncode != 0 and not partial:
        raise CaptureError(
            f"tshark could not read {pcap} (exit {returncode})",
            seen="\n".join(diagnostics[-8:]),
            fix="check the display filter, the field names and the file; see the log",
            log=log_path,
        )
    if partial:
        log.warning("capture %s was cut short; decoded what was there", pcap)
    return _Pass(partial=partial, diagnostics=diagnostics)


def _check_file(pcap: Path, log_path: Path | None) -> None:
    if not pcap.is_file():
        raise CaptureError(
            f"capture file {pcap} does not exist",
            seen="no such file" if not pcap.exists() else "not a regular file",
            fix="check the run directory; the capture may not have been started",
            log=log_path,
        )
    # tshark guesses among dozens of formats and "reads" plain text as packets,
    # so anything that is not pcap or pcapng is refused here.
    with pcap.open("rb") as f:
        head = f.read(4)
    if head not in _CAPTURE_MAGICS:
        raise CaptureError(
            f"{pcap} is not a pcap or pcapng file",
            seen=f"{pcap.stat().st_size} bytes, starting with {head!r}",
            fix="point at the .pcapng the capture wrote; an empty file means dumpcap "
            "never started writing",
            log=log_path,
        )


def _ensure_event_loop() -> None:
    """pyshark asks the policy for the thread's loop, which raises once anything in the
    process ran asyncio.run() or set the loop to None (labgrid's client does): give the
    thread a loop of its own again."""
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        policy.set_event_loop(policy.new_event_loop())


def open_filecapture(
    pcap: Path,
    keylog: Path | None,
    *,
    server_port: int | None = None,
    display_filter: str | None = None,
) -> pyshark.FileCapture:
    """A pyshark FileCapture with the keylog and TLS decoding on the server port.

    For tests that want their own packet assertions. pyshark runs its own tshark
    and does not work inside a running asyncio loop or a worker thread; close it.
    """
    import pyshark  # a heavy import, needed only by tests that ask for packets

    pcap = Path(pcap)
    if not pcap.is_file():
        raise CaptureError(
            f"capture file {pcap} does not exist",
            fix="check the run directory; the capture may not have been started",
        )
    prefs = {"tls.keylog_file": str(keylog)} if keylog is not None else None
    decode_as = {f"tcp.port=={int(server_port)}": "tls"} if server_port is not None else None
    _ensure_event_loop()

    class TidyFileCapture(pyshark.FileCapture):
        """Closing it also undoes pyshark's process-wide child watcher."""

        def close(self) -> None:
            try:
                super().close()
            finally:
                # pyshark installs a SafeChildWatcher (a SIGCHLD handler on its loop) for
                # the whole process; left behind, it trips over every child the harness
                # reaps afterwards. Closing it removes the handler.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    asyncio.get_child_watcher().close()
                    asyncio.set_child_watcher(None)

    return TidyFileCapture(
        str(pcap),
        display_filter=display_filter,
        override_prefs=prefs,
        decode_as=decode_as,
        keep_packets=True,
    )


# -- raw bytes for the golden comparison ----------------------------------------------------


def read_decrypted_dump(
    pcap: Path,
    *,
    keylog: Path,
    display_filter: str,
    log_path: Path | None,
    timeout: float = 120.0,
    tls_ports: Sequence[int] = (),
) -> FieldsResult:
    """`tshark -P -x` with the frame number as the only column: each frame's number,
    then its hex dumps, among them one "Decrypted TLS" block per record tshark could
    decrypt with `keylog` (harness.analysis.golden.parse_decrypted reads it)."""
    tshark = procs.which("tshark", package="tshark")
    cmd = [tshark, "-n", "-r", str(pcap), "-o", f"tls.keylog_file:{keylog}"]
    cmd += ["-o", 'gui.column.format:"No.","%m"']
    for port in tls_ports:
        cmd += ["-d", f"tcp.port=={int(port)},tls"]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += ["-P", "-x"]
    lines: list[str] = []
    done = _run_pass(Path(pcap), cmd, lines.extend, log_path=log_path, timeout=timeout)
    return FieldsResult(
        text="".join(f"{line}\n" for line in lines),
        partial=done.partial,
        warnings=done.diagnostics,
    )


def write_filtered(
    pcap: Path,
    out: Path,
    *,
    display_filter: str,
    log_path: Path | None,
    timeout: float = 120.0,
) -> bool:
    """Copy the packets of `pcap` that match `display_filter` to `out` (pcapng).
    Returns False when `pcap` was cut short (what could be read is copied)."""
    tshark = procs.which("tshark", package="tshark")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [tshark, "-n", "-r", str(pcap), "-Y", display_filter, "-F", "pcapng", "-w", str(out)]
    done = _run_pass(Path(pcap), cmd, lambda lines: None, log_path=log_path, timeout=timeout)
    return not done.partial


# -- many captures, one tshark ----------------------------------------------------------------


@dataclass(frozen=True)
class CaptureJob:
    """One run's capture for `analyze_captures`."""

    pcap: Path
    keylog: Path | None
    server_port: int
    log_path: Path | None = None  # this run's tshark.log (its single pass, when it needs one)


def analyze_captures(
    jobs: Sequence[CaptureJob], *, work_dir: Path, timeout: float = 300.0
) -> list[wire.WireAnalysis | CaptureError]:
    """`analyze_capture` for each job, with one tshark start for all of them.

    A tshark start (~0.25 s of CPU) is most of a warm twin run's analysis; a matrix
    pays it once a batch instead of once a cell. The batch is the jobs' files one
    after the other in `work_dir` (deleted after), each its own pcapng section, and
    their keylogs likewise; `harness.analysis.wire.sections` splits the rows back.
    A capture that is not one whole section (cut short, not pcapng), and every job
    when the batch pass itself fails, gets its own `analyze_capture` pass instead:
    the batch is a shortcut, never a different answer. Each result is the job's
    analysis or the CaptureError its own pass raised.
    """
    results: list[wire.WireAnalysis | CaptureError | None] = [None] * len(jobs)
    batched = [i for i, job in enumerate(jobs) if _one_whole_section(job.pcap)]
    if len(batched) > 1:
        try:
            for i, analysis in zip(
                batched, _batch_pass([jobs[i] for i in batched], work_dir, timeout), strict=True
            ):
                results[i] = analysis
        except HilError as exc:
            log.warning(
                "batch analysis of %d captures failed (%s); one pass each", len(batched), exc.what
            )
    for i, job in enumerate(jobs):
        if results[i] is None:
            try:
                results[i] = analyze_capture(
                    job.pcap, job.keylog, job.server_port, log_path=job.log_path, timeout=timeout
                )
            except CaptureError as exc:
                results[i] = exc
    return [r for r in results if r is not None]


def _one_whole_section(pcap: Path) -> bool:
    try:
        data = Path(pcap).read_bytes()
    except OSError:
        return False
    return _frames_of_one_section(data) is not None


def _batch_pass(
    jobs: Sequence[CaptureJob], work_dir: Path, timeout: float
) -> list[wire.WireAnalysis]:
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="batch-", suffix=".pcapng", dir=work_dir)
    batch = Path(name)
    keylog = batch.with_suffix(".keylog.txt")
    try:
        with os.fdopen(fd, "wb") as out, keylog.open("wb") as keys:
            for job in jobs:
                out.write(job.pcap.read_bytes())
                if job.keylog is not None and job.keylog.is_file():
                    text = job.keylog.read_bytes()
                    keys.write(text if text.endswith(b"\n") or not text else text + b"\n")
        decoders = [wire.Decoder(job.server_port) for job in jobs]
        splitter = sections.SectionSplitter(decoders)
        ports = sorted({job.server_port for job in jobs})
        done = _run_pass(
            batch,
            tshark_command(
                batch,
                keylog=keylog,
                fields=sections.BATCH_FIELDS,
                display_filter="",
                tls_ports=ports,
            ),
            splitter.feed,
            log_path=batch.with_suffix(".tshark.log"),
            timeout=timeout,
        )
        if done.partial or splitter.warnings:
            raise CaptureError(
                "the batch of captures did not read back whole",
                seen="\n".join([*splitter.warnings, *done.diagnostics][-5:]),
                fix="nothing to do: each capture is read on its own instead",
            )
        results = []
        for decoder in decoders:
            decoded = decoder.result(partial=False)
            results.append(
                dataclasses.replace(decoded, warnings=done.diagnostics + decoded.warnings)
            )
        return results
    finally:
        for path in (batch, keylog, batch.with_suffix(".tshark.log")):
            path.unlink(missing_ok=True)
