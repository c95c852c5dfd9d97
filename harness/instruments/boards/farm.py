"""A board farm on labgrid: a bench board may name a labgrid place instead of a port.

`board_session(board)` acquires the place through labgrid's coordinator (gRPC, labgrid
24 and later), hands back the board with the place's NetworkSerialPort as its
rfc2217:// port (the path every RFC2217 port takes: flasher, SerialMonitor, esptool),
and releases the place on every exit path: an error, Ctrl-C, SIGTERM (the CLI turns it
into KeyboardInterrupt). A board with a port of its own passes through unchanged.

This module is the only one that imports labgrid, and only when a place is used: the
base install does not need it (the `[farm]` extra brings it).

Each exchange with the coordinator is one short session (connect, ask, close), each
step under a deadline: no gRPC stream idles while a board flashes for a minute, and the
release after a Ctrl-C starts from a fresh connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import threading
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.instruments.boards.bench import BenchBoard, PortSpec
from harness.model.errors import (
    ConfigError,
    DeadlineError,
    HilError,
    StateError,
    ToolFailedError,
    ToolMissingError,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0  # a coordinator answers in well under a second, even across a LAN
CALL_TIMEOUT = 15.0
FARM_FIX = 'install the farm extra: pip install "esp-tls-hil[farm]" (labgrid 26)'
# The resource classes `labgrid-client power` drives (labgrid 26, remote/client.py).
POWER_RESOURCES = frozenset(
    {
        "NetworkPowerPort",
        "NetworkUSBPowerPort",
        "NetworkSiSPMPowerPort",
        "NetworkYKUSHPowerPort",
        "NetworkSysfsGPIO",
        "PDUDaemonPort",
        "TasmotaPowerPort",
    }
)


@dataclass(frozen=True)
class PlaceResource:
    """One resource an acquired place holds, as the coordinator describes it."""

    path: str  # exporter/group/class/name
    cls: str
    params: Mapping[str, Any]
    avail: bool


@dataclass(frozen=True)
class AcquiredPlace:
    place: str
    coordinator: str
    identity: str  # host/user: who labgrid says holds it
    port_url: str
    resources: tuple[PlaceResource, ...]

    @property
    def power(self) -> tuple[PlaceResource, ...]:
        return tuple(r for r in self.resources if r.cls in POWER_RESOURCES)


def _labgrid() -> tuple[Any, Any]:
    try:
        from labgrid.remote import client
        from labgrid.remote.generated import labgrid_coordinator_pb2
    except ImportError as exc:
        raise ToolMissingError(
            "the bench file names a labgrid place, and labgrid is not installed",
            seen=str(exc),
            fix=FARM_FIX,
        ) from None
    return client, labgrid_coordinator_pb2


def labgrid_client() -> str:
    """The labgrid-client of this environment (next to our interpreter), else PATH's."""
    here = Path(sys.executable).parent / "labgrid-client"
    found = str(here) if here.exists() else shutil.which("labgrid-client")
    if found is None:
        raise ToolMissingError("labgrid-client is not installed", fix=FARM_FIX)
    return found


class CoordinatorSession:
    """One short session with a labgrid coordinator, for the place of one board.

    Every error names the coordinator, the place and the fix; every step has a deadline.
    """

    def __init__(self, spec: PortSpec, board: str, *, timeout: float | None = None) -> None:
        self.address, self.place_name, self.board = spec.coordinator, spec.place, board
        self.timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self._client, self._pb2 = _labgrid()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None

    def __repr__(self) -> str:
        return f"CoordinatorSession({self.address}, place {self.place_name})"

    @property
    def where(self) -> str:
        return f"labgrid place {self.place_name} (board {self.board}, coordinator {self.address})"

    def __enter__(self) -> CoordinatorSession:
        self._loop = asyncio.new_event_loop()
        try:
            # grpc.aio binds the channel to the thread's event loop when it is made.
            asyncio.set_event_loop(self._loop)
            self._session = self._client.ClientSession(
                self.address,
                self._loop,
                args=argparse.Namespace(place=self.place_name, allow_unmatched=False, kick=False),
            )
            self._run(self._session.start(), "connecting", self.timeout)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Safe to repeat; each step bounded, so a vanished coordinator cannot hang us."""
        loop, session = self._loop, self._session
        self._loop = self._session = None
        if loop is None:
            return
        try:
            if session is not None:
                for step in (session.stop, session.close):
                    try:
                        loop.run_until_complete(asyncio.wait_for(step(), CALL_TIMEOUT))
                    except Exception as exc:  # closing a broken session: say so, go on
                        log.debug("%s: closing: %s", self, exc)
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    def _run(self, coro: Coroutine[Any, Any, Any], what: str, timeout: float = CALL_TIMEOUT) -> Any:
        if self._loop is None:
            coro.close()
            self._live(what)
        try:
            return self._loop.run_until_complete(asyncio.wait_for(coro, timeout))
        except TimeoutError:
            raise DeadlineError(
                f"{self.where}: {what} got no answer within {timeout:.0f} s",
                fix=f"check that labgrid-coordinator runs at {self.address} and is reachable "
                "from here (the bench file's [labgrid] coordinator)",
            ) from None
        except self._client.ServerError as exc:
            raise ToolFailedError(
                f"{self.where}: {what} failed: the coordinator is not reachable",
                seen=str(exc),
                fix=f"start it (labgrid-coordinator -l {self.address}) or correct the "
                "bench file's [labgrid] coordinator",
            ) from None
        except Exception as exc:
            details = getattr(exc, "details", None)
            if callable(details):  # a gRPC error: the coordinator refused the call
                raise ToolFailedError(
                    f"{self.where}: {what} was refused by the coordinator",
                    seen=str(details()),
                    fix=f"see `labgrid-client -x {self.address} -p {self.place_name} show`",
                ) from None
            raise

    def _live(self, what: str) -> Any:
        if self._session is None or self._loop is None:
            raise StateError(
                f"{self!r}: {what} in state 'closed': expected open (inside `with`)",
                fix="use the session as a context manager",
            )
        return self._session

    def identity(self) -> str:
        """host/user: who labgrid takes this client for (LG_HOSTNAME/LG_USERNAME)."""
        session = self._live("identity")
        return f"{session.gethostname()}/{session.getuser()}"

    def place(self) -> Any:
        places = self._live("looking up the place").places
        if self.place_name not in places:
            raise ConfigError(
                f"{self.where}: the coordinator knows no such place",
                seen=f"places there: {', '.join(sorted(places)) or 'none'}",
                fix=f"correct place = for board {self.board} in the bench file, or create it: "
                f"labgrid-client -x {self.address} -p {self.place_name} create, then "
                "add-match EXPORTER/GROUP/NetworkSerialPort",
            )
        return places[self.place_name]

    def holder(self) -> str | None:
        return self.place().acquired or None

    def refuse_unless_free(self) -> None:
        holder, me = self.holder(), self.identity()
        if holder is None:
            return
        if holder == me:
            raise StateError(
                f"{self.where}: already acquired by you ({me}), by another run or one "
                "that was killed before it could release it",
                fix="if no other run of yours uses it: "
                f"labgrid-client -x {self.address} -p {self.place_name} release",
            )
        raise StateError(
            f"{self.where}: held by {holder}",
            fix=f"wait until {holder} releases it (labgrid-client -x {self.address} -p "
            f"{self.place_name} show), or ask them to; a bench run never takes a place "
            "from someone",
        )

    def acquire(self) -> None:
        session = self._live("acquiring")
        request = self._pb2.AcquirePlaceRequest(placename=self.place_name)
        self._run(session.stub.AcquirePlace(request), "acquiring")
        self._run(session.sync_with_coordinator(), "acquiring")

    def release_if_mine(self) -> bool:
        """Release the place if this client's identity holds it; False when it did not."""
        holder = self.holder()
        if holder != self.identity():
            log.info("%s: not releasing, held by %s", self.where, holder)
            return False
        session = self._live("releasing")
        request = self._pb2.ReleasePlaceRequest(placename=self.place_name)
        self._run(session.stub.ReleasePlace(request), "releasing")
        self._run(session.sync_with_coordinator(), "releasing")
        return True

    def resources(self) -> tuple[PlaceResource, ...]:
        found, known = [], self._live("listing resources").resources
        for exporter, group, cls, name in self.place().acquired_resources:
            entry = known.get(exporter, {}).get(group, {}).get(name)
            if entry is None:
                raise ToolFailedError(
                    f"{self.where}: its resource {exporter}/{group}/{cls}/{name} is gone "
                    f"(exporter {exporter} disconnected?)",
                    fix=f"start labgrid-exporter on {exporter} again",
                )
            found.append(
                PlaceResource(f"{exporter}/{group}/{cls}/{name}", cls, entry.params, entry.avail)
            )
        return tuple(found)


def serial_url(session: CoordinatorSession, resources: tuple[PlaceResource, ...]) -> str:
    """The rfc2217:// URL of the place's one NetworkSerialPort, or an error saying why not."""
    serial = [r for r in resources if r.cls == "NetworkSerialPort"]
    seen = ", ".join(r.path for r in resources) or "no resources at all"
    if not resources:
        matches = ", ".join(str(m) for m in session.place().matches) or "nothing"
        raise ToolFailedError(
            f"{session.where}: no exporter offers what the place matches ({matches})",
            fix="start labgrid-exporter on the machine the board is plugged into (and check "
            f"`labgrid-client -x {session.address} resources`)",
        )
    if len(serial) != 1:
        raise ConfigError(
            f"{session.where}: has {len(serial)} NetworkSerialPorts, the harness needs one",
            seen=seen,
            fix="export the board's serial port (USBSerialPort in the exporter's config) and "
            f"match only it: labgrid-client -x {session.address} -p {session.place_name} "
            "add-match EXPORTER/GROUP/NetworkSerialPort",
        )
    port = serial[0]
    params, extra = port.params, port.params.get("extra") or {}
    if not port.avail:
        raise ToolFailedError(
            f"{session.where}: {port.path} is not available (its exporter lost the port)",
            fix="plug the board in at the exporter, or restart labgrid-exporter there",
        )
    if params.get("protocol", "rfc2217") != "rfc2217":
        raise ConfigError(
            f"{session.where}: {port.path} speaks {params['protocol']}, not RFC2217",
            fix="export it with protocol rfc2217 (the default): DTR/RTS reset needs it",
        )
    if extra.get("proxy_required"):
        raise ConfigError(
            f"{session.where}: {port.path} is reachable only through an SSH proxy "
            "(an --isolated exporter)",
            fix="run that labgrid-exporter without --isolated, so its port is reachable",
        )
    return f"rfc2217://{params['host']}:{params['port']}"


def _acquired_board(board: BenchBoard, place: AcquiredPlace) -> BenchBoard:
    port = PortSpec(place.port_url, "rfc2217")
    if board.reset != "place-power":
        return replace(board, port=port)
    # The place's power switch resets the board, through labgrid's own power drivers.
    command = (
        labgrid_client(), "-x", place.coordinator, "-p", place.place, "power", "cycle",
    )  # fmt: skip
    return replace(board, port=port, reset="command", reset_command=command)


def _check_power(session: CoordinatorSession, board: BenchBoard, place: AcquiredPlace) -> None:
    if board.reset == "place-power" and not place.power:
        raise ConfigError(
            f'{session.where}: board {board.name} says reset = "place-power", and the place '
            "has no power resource",
            seen=", ".join(r.path for r in place.resources),
            fix="add-match the board's power port to the place (one of "
            f'{", ".join(sorted(POWER_RESOURCES))}), or use reset = "dtr-rts"',
        )


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """A second Ctrl-C (or SIGTERM) while the place is released waits for the release,
    bounded by its deadlines, then interrupts: an impatient user leaves nothing held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: seen.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if seen:
            raise KeyboardInterrupt


def _release(spec: PortSpec, board: str) -> bool:
    with _interrupts_deferred(), CoordinatorSession(spec, board) as session:
        return session.release_if_mine()


def acquire(board: BenchBoard) -> AcquiredPlace:
    """Acquire the board's place and describe it; a failure after the request went out
    releases it again (Ctrl-C included), so nothing stays acquired."""
    spec, sent = board.port, False
    try:
        with CoordinatorSession(spec, board.name) as session:
            session.refuse_unless_free()
            sent = True
            session.acquire()
            resources = session.resources()
            place = AcquiredPlace(
                spec.place,
                spec.coordinator,
                session.identity(),
                serial_url(session, resources),
                resources,
            )
            _check_power(session, board, place)
            log.info("acquired %s: serial %s", session.where, place.port_url)
            return place
    except BaseException:
        if sent:
            with contextlib.suppress(HilError):
                _release(spec, board.name)
        raise


@contextlib.contextmanager
def board_session(board: BenchBoard) -> Iterator[BenchBoard]:
    """The board to use while the block runs: itself, or for a labgrid place the board
    with the place's RFC2217 port, the place acquired until the block exits."""
    if board.port.kind != "place":
        yield board
        return
    place = acquire(board)
    failed = True
    try:
        yield _acquired_board(board, place)
        failed = False
    finally:
        try:
            _release(board.port, board.name)
            log.info("released labgrid place %s", place.place)
        except HilError as exc:
            if not failed:
                raise
            # Do not hide the error that ended the block; say what is left to do.
            log.error(
                "could not release labgrid place %s: %s (run: labgrid-client -x %s -p %s release)",
                place.place,
                exc,
                place.coordinator,
                place.place,
            )
