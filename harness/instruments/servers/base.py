"""What every server backend shares: its states, the bind check, the page it serves,
and the lifecycle plumbing of an adapter that owns one server process.

A backend subclasses ServerBase and adds `start()` and `stop()` for its tool.
"""

from __future__ import annotations

import abc
import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self

from harness.instruments import procs

# The page both backends serve (the builtin child defines it: it imports nothing of ours).
from harness.instruments.servers.profiles import (
    ChainOrder,
    ClientAuth,
    MflnPolicy,
    ServerProfile,
)
from harness.model.errors import ConfigError, NetworkSafetyError, StateError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle


class ServerState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"


def check_bind(bind: str, *, allow_external: bool, override: str = "allow_external=True") -> None:
    """Refuse a bind address off this machine unless the caller explicitly allowed it.

    `override` is how the caller's user says "allow it": the Python argument by
    default, `--allow-external` from the command line.
    """
    try:
        addr = ipaddress.ip_address(bind)
    except ValueError:
        raise ConfigError(
            f"server bind address {bind!r} is not an IP address",
            fix="give an IPv4 address such as 127.0.0.1",
        ) from None
    if addr.version != 4:
        raise ConfigError(
            f"server bind address {bind} is IPv6; the builtin backend listens on IPv4",
            fix="use 127.0.0.1",
        )
    if not allow_external and addr not in ipaddress.ip_network("127.0.0.0/8"):
        raise NetworkSafetyError(
            f"server bind address {bind} is outside 127.0.0.0/8",
            seen=bind,
            fix=f"use 127.0.0.1, or pass {override} for a real board on a bench LAN",
        )


def profile_where(profile: ServerProfile) -> str:
    """How an error names a profile: its name and the file it came from."""
    return f"server profile {profile.name!r} ({profile.path})"


def check_certs_fit(profile: ServerProfile, certs: CertBundle) -> None:
    """Refuse certificates that cannot serve the profile as written, on any backend:
    too few intermediates for its chain order, no client CA for its client_auth."""
    where = profile_where(profile)
    needed = {ChainOrder.INCOMPLETE: 1, ChainOrder.REVERSED: 2}.get(profile.chain, 0)
    have = max(len(certs.issuer_pems) - 1, 0)
    if have < needed:
        raise ConfigError(
            f"{where}: key 'chain': {profile.chain.value!r} needs {needed} intermediate(s), "
            f"certificate plan {certs.plan!r} has {have}",
            fix="use the profile's own cert_plan, or one with a deeper chain",
        )
    if profile.client_auth is not ClientAuth.NONE and certs.client_ca_pem is None:
        raise ConfigError(
            f"{where}: key 'client_auth': {profile.client_auth.value!r} needs a client CA, "
            f"certificate plan {certs.plan!r} makes none",
            fix="use a plan with client_cert=True (client-auth)",
        )


def check_mfln_honoured(profile: ServerProfile, backend: str) -> None:
    """Refuse `mfln = "ignore"` on an OpenSSL backend: it cannot be told not to honour it."""
    if profile.mfln is MflnPolicy.IGNORE:
        raise ConfigError(
            f"{profile_where(profile)}: key 'mfln': the {backend} backend cannot serve 'ignore'",
            seen=(
                "OpenSSL 1.1.1 and later (Python's ssl, Apache mod_ssl) always accept a "
                "client's max_fragment_length request and then send records no larger; "
                "no option turns that off"
            ),
            fix="serve this profile with the tlslite backend (tlslite-ng has no MFLN)",
        )


class ServerBase(abc.ABC):
    """Serves `profile` with `certs` on `bind:port` (port 0: a free one, see `.port`)."""

    name: ClassVar[str]

    def __init__(
        self,
        profile: ServerProfile,
        certs: CertBundle,
        bind: str,
        port: int,
        run_dir: Path,
        *,
        allow_external: bool = False,
    ) -> None:
        check_bind(bind, allow_external=allow_external)
        if not 0 <= port <= 65535:
            raise ConfigError(f"server port {port} out of range", fix="use 0..65535 (0: free port)")
        self.profile = profile
        self.certs = certs
        self.bind = bind
        self._requested_port = port
        self._port: int | None = None
        self.run_dir = run_dir
        self.server_log = run_dir / "server.log"
        self.keylog = run_dir / "keylog.txt"
        self.state = ServerState.IDLE
        self.ready_seconds: float | None = None  # exec to ready, for the record
        self._proc: procs.ManagedProcess | None = None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.profile.name} "
            f"{self.bind}:{self._port or self._requested_port} {self.state}>"
        )

    @property
    def port(self) -> int:
        """The port it listens on; before start() the one asked for (0 = not known yet)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def address(self) -> tuple[str, int]:
        return (self.bind, self.port)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        """Whether the server process still runs (it may die on its own: a crash)."""
        return self._proc is not None and self._proc.alive()

    def _check_startable(self) -> None:
        if self.state is ServerState.RUNNING:
            raise StateError(
                f"{self!r}.start() in state 'running': expected one of idle, stopped",
                fix=f"stop() it first, or use another {type(self).__name__}",
            )

    @abc.abstractmethod
    def start(self) -> Self:
        """Start the server; return once a handshake is possible."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop and reap it; safe in any state, any number of times."""

    def __enter__(self) -> Self:
        if self.state is not ServerState.RUNNING:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
