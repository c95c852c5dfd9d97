"""The core release data (harness/model/cores/*.toml): every file loads, every fact has a
source, and bad files are refused with the file, the key and the fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.model.cores import CORES_DIR, load_release, load_releases, releases
from harness.model.errors import ConfigError

EXPECTED = {
    "esp8266-2.4.1": "axtls",
    "esp8266-2.4.2": "axtls",
    "esp8266-2.5.2": "bearssl",
    "esp8266-2.7.4": "bearssl",
    "esp8266-3.0.2": "bearssl",
    "esp8266-3.1.2": "bearssl",
    "esp32-1.0.6": "mbedtls",
    "esp32-2.0.17": "mbedtls",
    "esp32-3.x": "mbedtls",
}

# The ClientHello suites the real stacks offered in the recordings (golden-staging),
# first and last, as a check that the data is the recorded order.
AXTLS_OFFER = (0x003C, 0x003D, 0x0035, 0x002F)


def test_every_release_loads_with_its_stack():
    assert {r.id: r.stack for r in releases()} == EXPECTED


def test_every_fact_has_a_source():
    for r in releases():
        for key in ("tls.default_suites", "trust.without_method", "timeouts.handshake_ms"):
            assert r.sources[key].strip(), (r.id, key)
        for api in (*r.api.present, *r.api.absent):
            assert r.sources[f"api.{api}"], (r.id, api)


def test_suites_in_recorded_order():
    by_id = {r.id: r for r in releases()}
    assert by_id["esp8266-2.4.1"].tls.default_suites == AXTLS_OFFER
    bearssl = by_id["esp8266-3.1.2"].tls
    assert bearssl.default_suites[:2] == (0xCCA9, 0xCCA8) and bearssl.default_suites[-1] == 0x000A
    assert len(bearssl.default_suites) == 45
    assert bearssl.less_secure_suites == (0x003D, 0x003C, 0x0035, 0x002F)
    assert 0x00FF not in by_id["esp32-2.0.17"].tls.default_suites  # SCSV is mbedTLS's own


def test_versions_differ_where_the_cores_do():
    by_id = {r.id: r for r in releases()}
    assert not by_id["esp8266-2.5.2"].has_api("setSSLVersion")
    assert by_id["esp8266-3.1.2"].has_api("setSSLVersion")
    assert by_id["esp8266-2.5.2"].has_api("setCACert") and not by_id["esp8266-3.0.2"].has_api(
        "setCACert"
    )
    assert not by_id["esp8266-2.4.1"].has_api("setInsecure")
    assert by_id["esp8266-2.5.2"].httpclient_texts[-1] == "connection refused"
    assert by_id["esp8266-3.1.2"].httpclient_texts[-1] == "connection failed"
    assert by_id["esp8266-2.5.2"].log.lines["run_until_timeout"] == ""
    assert by_id["esp32-1.0.6"].errors.text[-1] == "UNKNOWN ERROR CODE (0001)"
    assert by_id["esp32-2.0.17"].log.prefix.startswith("[%6u]")
    assert by_id["esp32-1.0.6"].trust.without_method == "refused"
    assert by_id["esp8266-2.4.1"].trust.without_method == "connects-unverified"


def test_platformio_mapping_named_for_real_boards():
    for r in releases():
        family = "espressif8266" if r.family == "esp8266" else "espressif32"
        if not r.platformio.platform:
            assert r.sources["platformio.platform"].startswith("absent:"), r.id
            continue
        assert r.platformio.platform.startswith(f"platformio/{family}@")
        assert f"framework-arduino{family}@" in r.platformio.framework_package


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / f"{name}.toml"
    shutil.copy(CORES_DIR / f"{name}.toml", dst)
    return dst


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            'stack = "bearssl"',
            'stack = "wolfssl"',
            ["esp8266-3.1.2.toml", "'stack'", "axtls, bearssl, mbedtls"],
        ),
        ("handshake_ms = 15000", 'handshake_ms = "15 s"', ["'timeouts.handshake_ms'", "a number"]),
        (
            'min_version = "TLS1.0"',
            'min_version = "TLS1.3"',
            ["'tls.min_version'", "above max_version"],
        ),
        ("0xCCA9, ", "0x1CCA9, ", ["'tls.default_suites'", "16-bit"]),
        (
            'release_date = "2023-03-20"',
            'release_date = "March 2023"',
            ["'release_date'", "YYYY-MM-DD"],
        ),
    ],
)
def test_bad_values_name_file_key_and_fix(tmp_path, old, new, words):
    path = _copy(tmp_path, "esp8266-3.1.2")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as e:
        load_release(path)
    message = str(e.value)
    for w in words:
        assert w in message, message
    assert e.value.fix


def test_a_fact_without_a_source_is_refused(tmp_path):
    path = _copy(tmp_path, "esp8266-3.1.2")
    lines = [
        ln for ln in path.read_text().splitlines() if not ln.startswith('handshake_ms = "esp8266')
    ]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=re.escape("'timeouts.sources.handshake_ms': missing")):
        load_release(path)


def test_an_api_both_present_and_absent_is_refused(tmp_path):
    path = _copy(tmp_path, "esp8266-2.5.2")
    path.write_text(
        path.read_text().replace(
            'absent = ["setSSLVersion"]', 'absent = ["setSSLVersion", "setInsecure"]'
        )
    )
    with pytest.raises(ConfigError, match="also listed as present"):
        load_release(path)


def test_file_name_must_match_the_id(tmp_path):
    src = _copy(tmp_path, "esp32-1.0.6")
    src.rename(tmp_path / "esp32-1.0.7.toml")
    with pytest.raises(ConfigError, match=re.escape("esp32-1.0.7.toml")):
        load_release(tmp_path / "esp32-1.0.7.toml")


def test_duplicate_alias_across_releases_is_refused(tmp_path):
    _copy(tmp_path, "esp8266-3.1.2")
    other = _copy(tmp_path, "esp8266-3.0.2")
    other.write_text(
        other.read_text().replace("aliases = []", 'aliases = ["twin-esp8266-bearssl"]')
    )
    with pytest.raises(ConfigError, match="twin-esp8266-bearssl"):
        load_releases(tmp_path)


def test_not_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "esp8266-9.9.9.toml"
    path.write_text("id = \n")
    with pytest.raises(ConfigError, match=re.escape("esp8266-9.9.9.toml: not valid TOML")):
        load_release(path)


def test_a_release_line_and_what_3x_changed_from_2_0_17():
    by_id = {r.id: r for r in releases()}
    three, two = by_id["esp32-3.x"], by_id["esp32-2.0.17"]
    # "3.x" sorts after every 2.y.z release of the family.
    assert three.version_tuple == (3, 99) and three.version_tuple > two.version_tuple
    assert releases().index(three) > releases().index(two)
    assert (three.tls.min_version, three.tls.max_version) == ("TLS1.2", "TLS1.2")
    assert two.tls.min_version == "TLS1.0"
    dhe = {0x009F, 0x009E, 0x0039, 0x0033, 0x006B, 0x0067}  # DHE-RSA suites of 2.0.17
    assert dhe <= set(two.tls.default_suites) and not dhe & set(three.tls.default_suites)
    assert three.personality == "esp32-mbedtls3" and three.log.lines["send"] == ""


def test_a_version_that_is_not_a_release_or_a_line_is_refused(tmp_path: Path):
    path = _copy(tmp_path, "esp32-3.x")
    path.write_text(path.read_text().replace('version = "3.x"', 'version = "3.y"'))
    with pytest.raises(ConfigError, match="release line"):
        load_release(path)


def test_a_second_class_is_a_release_of_its_own():
    rel = {r.id: r for r in load_releases()}["esp8266-2.4.2"]
    assert rel.stack == "axtls" and rel.personality_release("axtls") is rel
    bssl = rel.personality_release("bearssl")
    assert bssl is not None and bssl.personality == "esp8266-bearssl"
    assert (bssl.id, bssl.version, bssl.platformio) == (rel.id, rel.version, rel.platformio)
    assert len(bssl.tls.default_suites) == 37 and 0xC0AC not in bssl.tls.default_suites
    assert bssl.has_api("setInsecure") and not rel.has_api("setInsecure")
    assert bssl.log.prefix == "" and bssl.trust.message == ""
    assert bssl.buffers.mfln_probe_extensions == (0x0001,)
    assert bssl.sources["extra.bearssl.tls.default_suites"].startswith("esp8266/Arduino@bb28d4a")
    assert rel.personality_release("mbedtls") is None


def test_a_second_class_needs_every_table_and_a_source_for_each_fact(tmp_path):
    path = _copy(tmp_path, "esp8266-2.4.2")
    text = path.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith('message = "absent: esp8266')]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=re.escape("'extra.bearssl.trust.sources.message'")):
        load_release(path)
    path.write_text(
        text.replace("[extra.bearssl]", "[extra.axtls]").replace("extra.bearssl.", "extra.axtls.")
    )
    with pytest.raises(ConfigError, match="not a second stack of this release"):
        load_release(path)
