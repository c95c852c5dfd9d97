"""TLS server backends (layer 3): what serves a server profile.

`BACKENDS` maps a backend name to its class, a ServerBase: `(profile, certs, bind,
port, run_dir)`, `start()`, `stop()`, `alive()`, `.port`, `.address`, `.server_log`,
a context manager. `start_server` is the one
way the runner picks a backend: by name from this registry, never by if/elif.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.instruments.servers.apache import ApacheServer
from harness.instruments.servers.base import ServerBase
from harness.instruments.servers.builtin import BuiltinServer
from harness.instruments.servers.profiles import ServerProfile
from harness.instruments.servers.tlslite_backend import TlsliteServer
from harness.model.errors import ConfigError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle


# What every backend is: the runner and the fixtures speak to this, never to a class.
TlsServer = ServerBase


BACKENDS: dict[str, type[TlsServer]] = {}


def register_backend(cls: type[TlsServer]) -> type[TlsServer]:
    """Add a backend class under its `name`; a second class with the same name is refused."""
    if cls.name in BACKENDS:
        raise ConfigError(
            f"server backend {cls.name!r} registered twice",
            seen=f"{BACKENDS[cls.name].__qualname__} and {cls.__qualname__}",
            fix="give the new backend its own name",
        )
    BACKENDS[cls.name] = cls
    return cls


register_backend(BuiltinServer)
register_backend(ApacheServer)
register_backend(TlsliteServer)


def start_server(
    profile: ServerProfile,
    backend_name: str,
    certs: CertBundle,
    bind: str,
    port: int,
    run_dir: Path,
    *,
    allow_external: bool = False,
) -> TlsServer:
    """Start `profile` on the backend `backend_name`; returns once it accepts connections."""
    if backend_name not in BACKENDS:
        raise ConfigError(
            f"unknown server backend {backend_name!r}",
            seen=f"implemented: {', '.join(sorted(BACKENDS))}",
            fix=f"use one of: {', '.join(sorted(BACKENDS))}",
        )
    if backend_name not in profile.backends:
        raise ConfigError(
            f"server profile {profile.name!r} does not list backend {backend_name!r}",
            seen=f"backends = {list(profile.backends)} in {profile.path}",
            fix=f"use one of {', '.join(profile.backends)}, or add it to the profile's backends",
        )
    server = BACKENDS[backend_name](  # type: ignore[call-arg]
        profile, certs, bind, port, run_dir, allow_external=allow_external
    )
    return server.start()
