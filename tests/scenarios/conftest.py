"""Fixtures shared by the scenario tests."""

from __future__ import annotations

import pytest

from harness.instruments.boards.platformio import core_dir
from harness.run.runner import BenchConfig

# Read at import, before any pytester fixture moves HOME.
PIO_CORE = core_dir()
CACHE = BenchConfig().cache_dir


@pytest.fixture
def hil_pytester(pytester, monkeypatch):
    """pytester for an inner session that uses the harness.

    pytester gives the inner run a HOME of its own, where PlatformIO has none of the
    offline pieces `hil setup` installed: hand it this bench's PlatformIO and cache.
    """
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(PIO_CORE))
    monkeypatch.setenv("HIL_CACHE_DIR", str(CACHE))
    return pytester
