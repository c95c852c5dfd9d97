"""Fixtures of the server backend tests (helpers: tests/integration/serving.py).

`serve` starts profiles on the backend named by the `backend` fixture: by default
every registered backend in turn; a module about one backend overrides `backend`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.instruments.servers import BACKENDS, start_server
from harness.instruments.servers.base import ServerBase
from harness.instruments.servers.profiles import load_profile
from tests.integration.serving import ServeFn, assert_gone

# The plans of the founding report's profiles and of mfln-ignored (the tlslite backend's),
# made for the address the tests dial.
PLANS = ("founding-report", "founding-report-fixed", "ca-rsa-2048")


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertBundle]:
    base = tmp_path_factory.mktemp("certs")
    return {
        plan: make_certs(get_plan(plan), "127.0.0.1", base / plan, base / "cache") for plan in PLANS
    }


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def serve(backend: str, tmp_path: Path, bundles: dict[str, CertBundle]) -> Iterator[ServeFn]:
    """Start a profile (by name) on `backend`; every server started is stopped at the end
    and must leave no process behind."""
    started: list[ServerBase] = []

    def _serve(profile_name: str) -> ServerBase:
        profile = load_profile(profile_name)
        run_dir = tmp_path / f"run-{len(started)}"
        server = start_server(profile, backend, bundles[profile.cert_plan], "127.0.0.1", 0, run_dir)
        assert isinstance(server, BACKENDS[backend])
        assert isinstance(server, ServerBase)
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.stop()
        assert_gone(server.pid)
