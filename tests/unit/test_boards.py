"""The board registry made from the core data, `hil boards --json`, and the generated
PlatformIO board manifest and hil_core_config.h of a twin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.instruments import mbedtls3
from harness.instruments.boards import ALIASES, BOARDS, get_board_spec, open_board
from harness.instruments.boards.twin_config import (
    api_flags,
    board_manifest,
    core_config_header,
    extra_config_headers,
)
from harness.model.cores import releases
from harness.model.errors import ConfigError


def test_one_twin_per_release_and_the_aliases():
    twins = {name for name, spec in BOARDS.items() if spec.kind == "twin"}
    assert twins == {f"twin-{r.id}" for r in releases()}
    assert dict(ALIASES) == {
        "twin-esp8266-axtls": "twin-esp8266-2.4.1",
        "twin-esp8266-bearssl": "twin-esp8266-3.1.2",
        "twin-esp32-mbedtls": "twin-esp32-2.0.17",
        "twin-esp32-mbedtls3": "twin-esp32-3.x",
    }
    assert get_board_spec("twin-esp8266-axtls") is BOARDS["twin-esp8266-2.4.1"]


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(ConfigError) as e:
        get_board_spec("twin-esp8266-2.6.0")
    assert "unknown board 'twin-esp8266-2.6.0'" in str(e.value)
    for name in (*BOARDS, "twin-esp8266-bearssl (= twin-esp8266-3.1.2)"):
        assert name in e.value.fix


def test_boards_json(capsys):
    assert main(["boards", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == set(BOARDS)
    b = by_name["twin-esp8266-3.1.2"]
    assert (b["chip"], b["core_version"], b["stack"], b["aliases"]) == (
        "ESP8266",
        "3.1.2",
        "bearssl",
        ["twin-esp8266-bearssl"],
    )
    assert b["extra_stacks"] == []
    b = by_name["twin-esp8266-2.4.2"]
    assert (b["stack"], b["extra_stacks"]) == ("axtls", ["bearssl"])
    assert "axTLS, and BearSSL::WiFiClientSecure" in b["description"]
    assert by_name["twin-esp32-1.0.6"]["chip"] == "ESP32"
    assert by_name["twin-esp32-1.0.6"]["platformio_platform"] == "platformio/espressif32@3.5.0"


def test_manifest_selects_the_personality_and_libraries():
    spec = BOARDS["twin-esp32-2.0.17"]
    m = board_manifest(spec.core, spec.pio_board, spec.description)
    assert m["build"]["personality"] == "esp32_mbedtls"
    assert m["build"]["libs"] == "mbedtls mbedx509 mbedcrypto"
    assert "-DESP32" in m["build"]["extra_flags"]
    spec = BOARDS["twin-esp8266-2.7.4"]
    m = board_manifest(spec.core, spec.pio_board, spec.description)
    assert "-DARDUINO_ESP8266_RELEASE_2_7_4" in m["build"]["extra_flags"]


def test_header_carries_the_release_facts():
    core = BOARDS["twin-esp8266-2.5.2"].core
    h = core_config_header(core)
    assert '#define HIL_CORE_VERSION "2.5.2"' in h
    assert "#define HIL_DEFAULT_SUITES 0xCCA9, 0xCCA8," in h
    assert "#define HIL_HANDSHAKE_TIMEOUT_MS 15000" in h
    assert "#define HTTPC_ERROR_CONNECTION_REFUSED (-1)" in h
    # An API the release lacks is unavailable, with the versions that have it.
    line = next(ln for ln in h.splitlines() if ln.startswith("#define HIL_API_ATTR_setSSLVersion"))
    assert "unavailable(" in line and "setSSLVersion() is not in ESP8266 Arduino core 2.5.2" in line
    assert "3.0.2, 3.1.2" in line
    dep = next(ln for ln in h.splitlines() if ln.startswith("#define HIL_API_ATTR_setCACert"))
    assert "deprecated(" in dep
    assert core_config_header(core) == h  # deterministic: part of the build id


def test_headers_differ_only_where_releases_do():
    # 3.0.2 and 3.1.2 differ in one debug line (3.1.2 dropped it) besides the version.
    a = core_config_header(BOARDS["twin-esp8266-3.0.2"].core).replace("3.0.2", "X").splitlines()
    b = core_config_header(BOARDS["twin-esp8266-3.1.2"].core).replace("3.1.2", "X").splitlines()
    assert [x for x in a if x not in b] == [
        '#define HIL_LOG_WRITE_NOT_CONNECTED "write: Connect/handshake not completed yet"'
    ]
    c = core_config_header(BOARDS["twin-esp8266-2.7.4"].core).replace("2.7.4", "X")
    assert c != b  # 2.7.4 has setCACert (deprecated) and no setSSLVersion


def test_the_3x_twin_builds_against_the_mbedtls3_prefix(tmp_path):
    spec = BOARDS["twin-esp32-3.x"]
    # Without `hil setup`'s build the board refuses to open, naming the fix.
    with pytest.raises(ConfigError, match="mbedTLS 3") as err:
        open_board("twin-esp32-3.x", cache_dir=tmp_path, run_dir=tmp_path)
    assert "hil setup" in err.value.fix
    lib = mbedtls3.Mbedtls3(Path("/c/mbedtls3/3.6.6-abc"), "3.6.6", "3.6.6-1", "abc")
    m = board_manifest(spec.core, spec.pio_board, spec.description, lib)
    assert m["build"]["cpppath"] == "/c/mbedtls3/3.6.6-abc/include"
    assert m["build"]["libpath"] == "/c/mbedtls3/3.6.6-abc/lib"
    h = core_config_header(spec.core, lib)
    assert f'#define MBEDTLS_USER_CONFIG_FILE "{mbedtls3.CONFIG_NAME}"' in h
    assert '#define HIL_LOG_HANDSHAKE_FUNCTION "ssl_starttls_handshake"' in h
    # The mbedTLS 2 boards' manifests and headers name no such library.
    other = BOARDS["twin-esp32-2.0.17"]
    assert "cpppath" not in board_manifest(other.core, other.pio_board, other.description)["build"]
    assert "MBEDTLS_USER_CONFIG_FILE" not in core_config_header(other.core)


def test_a_release_with_two_classes_builds_both_each_with_its_own_header():
    core = BOARDS["twin-esp8266-2.4.2"].core
    m = board_manifest(core, "x", "y")
    assert m["build"]["personality"] == "esp8266_axtls"
    assert m["build"]["extra_personalities"] == "esp8266_bearssl"
    h = core_config_header(core)
    assert '#define HIL_CORE_STACK "axtls"' in h
    # The default class lacks setInsecure; BearSSL:: has it (HIL_API_BEARSSL_*).
    assert "#define HIL_API_setInsecure 0" in h and "#define HIL_API_BEARSSL_setInsecure 1" in h
    assert "#define HIL_API_BEARSSL_setCiphersLessSecure 0" in h
    (extra,) = extra_config_headers(core).items()
    assert extra[0] == "esp8266_bearssl"
    assert '#define HIL_CORE_STACK "bearssl"' in extra[1]
    assert '#define HIL_LOG_PREFIX ""' in extra[1]
    assert "#define HIL_MFLN_PROBE_EXTENSIONS 0x0001" in extra[1]
    assert "0xC0AC" not in extra[1]
    assert "HIL_API_BEARSSL" not in core_config_header(BOARDS["twin-esp32-2.0.17"].core)


def test_setinsecure_on_241_names_the_versions_of_both_classes():
    h = core_config_header(BOARDS["twin-esp8266-2.4.1"].core)
    line = next(ln for ln in h.splitlines() if ln.startswith("#define HIL_API_ATTR_setInsecure"))
    assert "core versions that have it: 2.5.2, 2.7.4, 3.0.2, 3.1.2" in line
    assert "as BearSSL::WiFiClientSecure: 2.4.2, 2.5.2, 2.7.4, 3.0.2, 3.1.2" in line
    bssl = next(
        ln for ln in h.splitlines() if ln.startswith("#define HIL_API_BEARSSL_ATTR_setInsecure")
    )
    assert "no BearSSL::WiFiClientSecure" in bssl and "2.4.2, 2.5.2" in bssl
    assert "-DHIL_API_BEARSSL_setInsecure=0" in api_flags(BOARDS["twin-esp8266-2.4.1"].core)
    assert "-DHIL_API_BEARSSL_setInsecure=1" in api_flags(BOARDS["twin-esp8266-2.4.2"].core)
