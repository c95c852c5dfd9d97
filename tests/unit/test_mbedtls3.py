"""The mbedTLS 3 set-up's pure parts: which archive it takes from the machine's apt
sources, the deb-src entry it writes, and what it says when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments import mbedtls3
from harness.model.errors import ConfigError

DEB822 = """\
Types: deb
URIs: http://archive.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://archive.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_the_archive_of_the_machines_release_is_taken_with_its_key() -> None:
    found = mbedtls3.parse_sources({"/etc/apt/sources.list.d/debian.sources": DEB822}, "bookworm")
    assert found == mbedtls3.AptSource(
        uris=("http://archive.invalid/debian",),
        signed_by="/usr/share/keyrings/debian-archive-keyring.gpg",
        components=("main",),
    )
    entry = mbedtls3.source_entry(found)
    assert entry.splitlines() == [
        "Types: deb-src",
        "URIs: http://archive.invalid/debian",
        f"Suites: {mbedtls3.SUITE}",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    ]


def test_one_line_sources_and_disabled_stanzas() -> None:
    disabled = DEB822.replace(
        "Types: deb\nURIs: http://archive.invalid/debian\n",
        "Enabled: no\nTypes: deb\nURIs: http://archive.invalid/debian\n",
        1,
    )
    files = {
        "/etc/apt/sources.list.d/debian.sources": disabled,
        "/etc/apt/sources.list": (
            "# comment\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian bookworm main contrib\n"
        ),
    }
    found = mbedtls3.parse_sources(files, "bookworm")
    assert found == mbedtls3.AptSource(
        uris=("http://mirror.invalid/debian",), signed_by="/k.gpg", components=("main", "contrib")
    )


def test_no_archive_for_the_release_is_none() -> None:
    assert mbedtls3.parse_sources({"x.sources": DEB822}, "noble") is None
    assert mbedtls3.parse_sources({}, "bookworm") is None


def test_codename_from_os_release(tmp_path: Path) -> None:
    f = tmp_path / "os-release"
    f.write_text('NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n')
    assert mbedtls3.system_codename(f) == "bookworm"


def test_a_missing_build_names_the_set_up(tmp_path: Path) -> None:
    assert mbedtls3.find(tmp_path) is None
    with pytest.raises(ConfigError) as err:
        mbedtls3.require(tmp_path)
    assert "hil setup" in err.value.fix


def test_a_half_built_prefix_is_not_found(tmp_path: Path) -> None:
    prefix = mbedtls3.root(tmp_path) / f"3.6.6-{mbedtls3.config_digest()}"
    prefix.mkdir(parents=True)
    (prefix / "prefix.json").write_text(
        '{"version": "3.6.6", "debian_version": "3.6.6-1", "config_digest": "x"}'
    )
    assert mbedtls3.find(tmp_path) is None  # no libraries in it
    (prefix / "lib").mkdir()
    for lib in mbedtls3.LIBS:
        (prefix / "lib" / f"lib{lib}.a").write_bytes(b"!<arch>\n")
    assert mbedtls3.find(tmp_path).version == "3.6.6"


def test_the_config_file_is_our_own_and_tls12_only() -> None:
    text = mbedtls3.CONFIG_FILE.read_text()
    for option in ("MBEDTLS_SSL_PROTO_TLS1_3", "MBEDTLS_DHM_C", "MBEDTLS_HAVE_TIME_DATE"):
        assert f"#undef {option}\n" in text
