"""`hil setup`'s mbedTLS 3 step when the archive cannot be reached: apt-get really runs
(with the private state and a source entry pointing at a closed port on 127.0.0.1), and
the error names what failed and what to do, with the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments import mbedtls3
from harness.model.errors import ToolFailedError

CLOSED = "http://127.0.0.1:9/debian"  # the discard port: nothing listens on it here


def test_an_unreachable_archive_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = (
        "Types: deb\n"
        f"URIs: {CLOSED}\n"
        "Suites: bookworm\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    monkeypatch.setattr(mbedtls3, "read_system_sources", lambda: {"x.sources": sources})
    monkeypatch.setattr(mbedtls3, "system_codename", lambda *a: "bookworm")
    # No retries with back-off for a port that refuses at once (the set-up keeps apt's).
    conf = tmp_path / "apt.conf"
    conf.write_text('Acquire::Retries "0";\n')
    monkeypatch.setenv("APT_CONFIG", str(conf))
    log = tmp_path / "setup.log"
    with pytest.raises(ToolFailedError) as err:
        mbedtls3.ensure_mbedtls3(tmp_path / "cache", log_path=log)
    assert "apt-get update" in err.value.what
    assert CLOSED in err.value.fix and "hil setup" in err.value.fix
    assert err.value.log == log and CLOSED in log.read_text()
    # Nothing half-built is left to be found as a prefix.
    assert mbedtls3.find(tmp_path / "cache") is None
    # The build folder went with the failure.
    assert not list((tmp_path / "cache" / "mbedtls3").glob("build-*"))
