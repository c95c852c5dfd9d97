"""Servers, captures and tshark kept alive across the runs of one process (a pytest
session, a matrix worker, a benchmark): a warm twin run then pays none of their starts.

A `Station` is one pooled builtin server (its own port, profile and certificates) with
a dumpcap on that port for the whole session (split into one file per run at the
markers, capture/parts.py) and one tshark reading each run's capture as it ends
(tshark.StreamPass). A
run borrows it (`RunSession.borrow`): the server switches its event log and key log to
the run's folder and takes a fresh TLS context (nothing of an earlier run can be
resumed, its connection numbers start at 1 again), the capture cuts the run's
`capture.pcapng` between a start and a stop marker. So every artifact of a run is
still in its run folder and holds exactly that run's packets, events and secrets.

A station is reused only when its last run ended cleanly: every connection closed, its
part of the capture proven complete by the stop marker, server and dumpcap alive. A
run that failed, was interrupted, or left a connection open retires it (stopped); the
next run starts a fresh one. Another profile or certificate on the same port also
retires the station there. `close()` stops everything; every process is a
`procs.ManagedProcess`, known to the reaper (harness SIGKILLed: the reaper stops
them; the pooled server also exits when its stdin, our pipe, closes), and the
session's folder (certificates, the key log between runs) is the reaper's to delete.

Only what can be pooled is: the `builtin` backend on a loopback capture. Apache, a
bench board's interface or an external bind take the one-run path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.wire import WireAnalysis
from harness.instruments.capture import LOOPBACK_INTERFACES, Capture, capture_target
from harness.instruments.certs import CertBundle
from harness.instruments.reaper import reaper
from harness.instruments.servers.builtin import BuiltinServer
from harness.instruments.servers.profiles import ServerProfile
from harness.instruments.tshark import StreamPass, analyze_capture
from harness.model.errors import HilError, StateError

log = logging.getLogger(__name__)

POOLED_BACKENDS = frozenset({"builtin"})


def certs_digest(certs_dir: Path) -> str:
    """What a station's certificates are: a digest of every file of the run's certs folder."""
    h = hashlib.sha256()
    for path in sorted(p for p in certs_dir.rglob("*") if p.is_file()):
        h.update(path.relative_to(certs_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def _rerooted(certs: CertBundle, old: Path, new: Path) -> CertBundle:
    """The bundle with every file under `old` moved to `new` (the station's own copy:
    a run folder may be pruned while the server still reloads its key per run)."""

    def move(value: object) -> object:
        if isinstance(value, Path) and value.is_relative_to(old):
            return new / value.relative_to(old)
        if isinstance(value, tuple):
            return tuple(move(v) for v in value)
        return value

    changes = {f.name: move(getattr(certs, f.name)) for f in dataclasses.fields(certs)}
    return dataclasses.replace(certs, **changes)


# Stations kept at once (the least recently used retired beyond): each holds a server,
# a dumpcap and a tshark (~160 MB resident), and a session of many scenarios reuses few.
MAX_STATIONS = 4

# A station's tshark keeps every packet it read in memory: a new one after this many runs.
STREAM_RUNS = 500


class StationPass:
    """One run's analysis by its station's tshark, in the shape of tshark.PrimedPass
    (`analyze`, `close`, `log_path`); without a tshark, a pass of its own."""

    def __init__(self, stream: StreamPass | None, run_dir: Path, port: int) -> None:
        self.stream = stream
        self.run_dir = run_dir
        self.port = port
        self.log_path = run_dir / "tshark.log"

    def analyze(self, pcap: Path) -> WireAnalysis:
        keylog = self.run_dir / "keylog.txt"
        if self.stream is None:
            return analyze_capture(pcap, keylog, self.port, log_path=self.log_path)
        return self.stream.analyze(pcap, keylog, log_copy=self.log_path)

    def close(self) -> None:
        """Nothing to stop: the station's tshark serves the next run."""


@dataclass(frozen=True)
class StationKey:
    profile: ServerProfile
    bind: str
    port: int
    certs: str  # certs_digest of the run's certs folder


class Station:
    """One pooled server, its session capture and the next run's tshark (module doc)."""

    def __init__(self, key: StationKey, certs: CertBundle, certs_dir: Path, folder: Path) -> None:
        self.key = key
        self.folder = folder
        folder.mkdir(parents=True)
        shutil.copytree(certs_dir, folder / "certs")
        own = _rerooted(certs, certs_dir, folder / "certs")
        self.server = BuiltinServer(
            key.profile, own, key.bind, key.port, folder / "server", pooled=True
        )
        self.capture: Capture | None = None
        self._stream: StreamPass | None = None
        self._streams = 0
        self.runs = 0
        self.run_dir: Path | None = None  # the run that has it now
        self.clean = False  # the last run ended it cleanly: it may serve the next
        self.spoiled = ""  # why the current run must not hand it on
        try:
            self.server.start()
            where = capture_target(key.bind, self.server.port)
            if where.interface not in LOOPBACK_INTERFACES:
                raise StateError(
                    f"{key.bind}:{self.server.port} is not on loopback ({where.interface})",
                    fix="a bug: RunSession.poolable should have refused it",
                )
            self.capture = Capture(
                folder / "between-runs.pcapng",
                interface=where.interface,
                bpf=where.bpf,
                log_path=folder / "dumpcap.log",
                split=True,
            )
            self.capture.start()
            self._new_stream()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"<Station {self.key.profile.name} {self.key.bind}:{self.key.port} runs={self.runs}>"

    @property
    def port(self) -> int:
        return self.server.port

    def pids(self) -> tuple[int | None, ...]:
        stream = self._stream.pid if self._stream is not None else None
        return (self.server.pid, self.capture.pid if self.capture else None, stream)

    def healthy(self) -> bool:
        return self.server.alive() and self.capture is not None and self.capture.alive()

    def begin(self, run_dir: Path) -> None:
        """The run's logs, key log and capture file start now, in `run_dir`."""
        assert self.capture is not None  # started in __init__
        self.run_dir = run_dir
        # The server's setup files, as a run of its own keeps them (the config naming
        # this run's logs, which the server takes from the control pipe).
        with contextlib.suppress(OSError):
            shutil.copyfile(self.server.openssl_conf_path, run_dir / "builtin-openssl.cnf")
        with contextlib.suppress(OSError, ValueError):
            config = json.loads(self.server.config_path.read_text(encoding="utf-8"))
            config.update(
                server_log=str(run_dir / "server.log"), keylog=str(run_dir / "keylog.txt")
            )
            text = json.dumps(config, indent=2) + "\n"
            (run_dir / "builtin-server.json").write_text(text, encoding="utf-8")
        self.clean = False
        self.spoiled = ""
        self.server.switch_logs(run_dir / "server.log", run_dir / "keylog.txt")
        self.capture.begin_part(run_dir / "capture.pcapng")
        self.runs += 1

    def spoil(self, why: str) -> None:
        """This run leaves state behind (a connection still open): retire it after."""
        self.spoiled = why
        log.info("%r will be retired after this run: %s", self, why)

    def end(self) -> None:
        """The run's capture ends after a stop marker sent now (every packet sent before
        is in it); the server writes to the station's own files until the next run."""
        assert self.capture is not None
        try:
            self.capture.end_part()
        finally:
            # Only the logs move: the next run's begin() renews the TLS context.
            idle = (self.folder / "server-idle.log", self.folder / "keylog-idle")
            self.server.switch_logs(*idle, fresh=False)
        self.run_dir = None
        self.clean = not self.spoiled

    def wire_pass(self, run_dir: Path) -> StationPass:
        """The run's analysis through the station's tshark (runner.finish uses it)."""
        if self._stream is None or self._stream.broken or self._stream.sections >= STREAM_RUNS:
            self._new_stream()
        return StationPass(self._stream, run_dir, self.server.port)

    def _new_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self._streams += 1
        try:
            self._stream = StreamPass(
                self.folder / f"tshark-{self._streams}.keylog",
                self.server.port,
                log_path=self.folder / f"tshark-{self._streams}.log",
            )
        except HilError as exc:  # each run's analysis starts its own then
            log.warning("%r: tshark could not be started ahead: %s", self, exc)

    def close(self) -> None:
        """Stop all of it; safe to repeat, bounded, on every path."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        if self.capture is not None:
            try:
                self.capture.stop()
            except HilError as exc:
                log.warning("%r: stopping its capture: %s", self, exc)
        self.server.stop()


class RunSession:
    """The stations of one process (module doc). One run at a time per station; runs on
    other threads (a matrix's workers) take other stations. A context manager; `close()`
    is safe to repeat."""

    def __init__(self, parent: Path | None = None, *, max_stations: int = MAX_STATIONS) -> None:
        self.max_stations = max_stations
        self.folder = Path(tempfile.mkdtemp(prefix="hil-session-", dir=parent))
        self.folder.chmod(0o700)  # certificates' keys and the key log between runs
        reaper().track_dir(self.folder)
        self._stations: dict[int, Station] = {}  # by port
        self._lock = threading.Lock()
        self._count = 0
        self.closed = False
        self.started = 0  # stations started, for the bench and the tests
        self.retired = 0

    def __repr__(self) -> str:
        return f"<RunSession {self.folder} stations={len(self._stations)}>"

    def __enter__(self) -> RunSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pids(self) -> set[int]:
        """The processes its stations keep running between runs (server, dumpcap, tshark)."""
        with self._lock:
            stations = list(self._stations.values())
        return {pid for station in stations for pid in station.pids() if pid is not None}

    @staticmethod
    def poolable(backend: str, interface: str) -> bool:
        return backend in POOLED_BACKENDS and interface in LOOPBACK_INTERFACES

    def holds(self, port: int) -> bool:
        """A station of this session listens on `port` (it is ours, not taken)."""
        with self._lock:
            station = self._stations.get(port)
        return station is not None and station.run_dir is None

    def take(
        self, profile: ServerProfile, certs: CertBundle, bind: str, port: int, run_dir: Path
    ) -> Station:
        """A station for this run, begun in `run_dir` (its certificates are the run's
        `certs` folder). `give_back` must follow on every path: it keeps the station
        only when the run `end()`ed it cleanly."""
        if self.closed:
            raise StateError(f"{self!r}.take() in state 'closed': expected open")
        certs_dir = run_dir / "certs"
        key = StationKey(profile, bind, port, certs_digest(certs_dir))
        station = self._take(key, certs, certs_dir)
        try:
            station.begin(run_dir)
        except BaseException:
            self.give_back(station)
            raise
        return station

    @contextlib.contextmanager
    def borrow(
        self, profile: ServerProfile, certs: CertBundle, bind: str, port: int, run_dir: Path
    ) -> Iterator[Station]:
        """`take`, ended at a clean exit of the block, given back on every path."""
        station = self.take(profile, certs, bind, port, run_dir)
        try:
            yield station
            station.end()
        finally:
            self.give_back(station)

    def _take(self, key: StationKey, certs: CertBundle, certs_dir: Path) -> Station:
        with self._lock:
            station = self._stations.pop(key.port, None)
            # An idle station on another port whose server or capture died is retired
            # now, not when the LRU bound reaches it: the run may have been given another
            # port (under xdist a worker can hold the remembered one), and a dead station
            # would otherwise linger, counted as kept, until the session ends.
            dead = [s for s in self._stations.values() if s.run_dir is None and not s.healthy()]
            for old in dead:
                del self._stations[old.key.port]
        for old in dead:
            log.info("%r retired: its server or capture died", old)
            self._retire(old)
        if station is not None and (station.key != key or not station.healthy()):
            why = "its server or capture died" if station.key == key else "another profile"
            log.info("%r retired: %s", station, why)
            self._retire(station)
            station = None
        if station is None:
            with self._lock:
                self._count += 1
                folder = self.folder / f"station-{self._count}"
            station = Station(key, certs, certs_dir, folder)
            self.started += 1
        with self._lock:
            self._stations[key.port] = station
        station.run_dir = certs_dir.parent  # taken, until given back
        return station

    def give_back(self, station: Station) -> None:
        """Keep the station for the next run if its run ended cleanly, else retire it."""
        if station.clean and station.healthy() and not self.closed:
            with self._lock:
                # Most recently used last; the idle ones beyond the bound go, oldest first.
                if self._stations.pop(station.key.port, None) is station:
                    self._stations[station.key.port] = station
                idle = [s for s in self._stations.values() if s.run_dir is None]
                extra = idle[: max(len(self._stations) - self.max_stations, 0)]
                for old in extra:
                    del self._stations[old.key.port]
            for old in extra:
                log.info("%r retired: the session keeps %d", old, self.max_stations)
                self._retire(old)
            return
        with self._lock:
            if self._stations.get(station.key.port) is station:
                del self._stations[station.key.port]
        self._retire(station)

    def _retire(self, station: Station) -> None:
        self.retired += 1
        station.close()

    def close(self) -> None:
        """Stop every station and delete the session's folder; safe to repeat."""
        self.closed = True
        with self._lock:
            stations, self._stations = list(self._stations.values()), {}
        for station in stations:
            station.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        reaper().untrack_dir(self.folder)
