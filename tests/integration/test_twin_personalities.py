"""The esp8266-bearssl and esp32-mbedtls twins as programs: the network guard before any
socket, and sketches that use an API their core lacks failing to compile with a message
that names the API and the core versions that have it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments.boards import get_board_spec
from harness.instruments.boards.base import BuildRequest, Firmware
from harness.instruments.boards.twin import TwinBoard
from harness.model.errors import ToolFailedError
from tests.integration.test_twin import ISOLATED, _tcp_active_opens, run_twin

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

BEARSSL = "twin-esp8266-3.1.2"
ESP32 = "twin-esp32-2.0.17"


def _header(host: str, port: int) -> str:
    return (
        "#pragma once\n"
        '#define HIL_WIFI_SSID "hil-bench"\n'
        '#define HIL_WIFI_PASSWORD "hil-bench"\n'
        f'#define HIL_SERVER_HOST "{host}"\n'
        f"#define HIL_SERVER_PORT {port}\n"
        '#define HIL_CERT_SHA1 "00"\n'
        'static const char hil_ca_cert_pem[] = "";\n'
    )


def _build(board: str, sketch_dir: Path, header: str, root: Path, log: Path) -> Firmware:
    with TwinBoard(get_board_spec(board), cache_dir=root, run_dir=root / "run") as twin:
        return twin.build(BuildRequest(sketch_dir, header, {}), log_path=log)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("twin-personalities")


@pytest.mark.parametrize(
    ("board", "sketch", "after"),
    [
        (BEARSSL, "bearssl_insecure", "Connecting to 192.168.1.210"),
        (ESP32, "esp32_setcacert", None),
    ],
)
def test_refuses_address_outside_loopback_before_any_packet(cache, tmp_path, board, sketch, after):
    firmware = _build(
        board,
        REPO / "sketches" / sketch,
        _header("192.168.1.210", 443),
        cache,
        tmp_path / "build.log",
    )
    opens: list[int] = []
    run = run_twin(
        firmware.path,
        tmp_path,
        prefix=ISOLATED,
        while_running=lambda twin: opens.append(_tcp_active_opens(twin.pid or 0)),
    )
    refused = (
        "HIL:REFUSED 192.168.1.210: the twin only connects to 127.0.0.0/8 "
        "(map it with HIL_ADDR_MAP)"
    )
    assert refused in run.lines
    assert "Connection failed" in run.lines
    assert "HIL:DONE connected=0 verified=0" in run.lines
    assert opens == [0], "the twin sent a SYN for a refused address"


def _sketch(tmp_path: Path, name: str, includes: str, body: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    text = f'{includes}\n#include "hil_scenario.h"\n\nvoid setup() {{\n{body}\n}}\n'
    (d / f"{name}.ino").write_text(text + "\nvoid loop() {}\n")
    return d


@pytest.mark.parametrize(
    ("board", "includes", "body", "words"),
    [
        (
            "twin-esp8266-2.5.2",
            "#include <ESP8266WiFi.h>\n#include <WiFiClientSecure.h>",
            "  BearSSL::WiFiClientSecure c;\n  c.setSSLVersion(BR_TLS12, BR_TLS12);",
            ["setSSLVersion() is not in ESP8266 Arduino core 2.5.2", "3.0.2, 3.1.2"],
        ),
        (
            "twin-esp8266-3.1.2",
            "#include <ESP8266WiFi.h>\n#include <WiFiClientSecure.h>",
            "  WiFiClientSecure c;\n  static const uint8_t der[1] = {0};\n  c.setCACert(der, 1);",
            ["setCACert() is not in ESP8266 Arduino core 3.1.2", "2.4.1, 2.4.2, 2.5.2, 2.7.4"],
        ),
        (
            "twin-esp8266-2.4.1",
            "#include <ESP8266WiFi.h>\n#include <WiFiClientSecure.h>",
            "  WiFiClientSecure c;\n  c.setInsecure();",
            [
                "setInsecure() is not in ESP8266 Arduino core 2.4.1",
                "core versions that have it: 2.5.2, 2.7.4, 3.0.2, 3.1.2",
                "as BearSSL::WiFiClientSecure: 2.4.2, 2.5.2, 2.7.4, 3.0.2, 3.1.2",
            ],
        ),
        (
            "twin-esp8266-2.4.2",
            "#include <ESP8266WiFi.h>\n#include <WiFiClientSecureBearSSL.h>",
            "  BearSSL::WiFiClientSecure c;\n  c.setCiphersLessSecure();",
            [
                "setCiphersLessSecure() is not in ESP8266 Arduino core 2.4.2 "
                "(BearSSL::WiFiClientSecure)",
                "core versions that have it: 2.5.2, 2.7.4, 3.0.2, 3.1.2",
            ],
        ),
        (
            "twin-esp8266-2.4.2",
            "#include <ESP8266WiFi.h>\n#include <WiFiClientSecure.h>",
            '  WiFiClientSecure c;\n  c.setFingerprint("AA BB");',
            ["setFingerprint() is not in ESP8266 Arduino core 2.4.2", "2.5.2, 2.7.4"],
        ),
        (
            "twin-esp32-1.0.6",
            "#include <WiFi.h>\n#include <WiFiClientSecure.h>",
            "  WiFiClientSecure c;\n  c.setCACertBundle(nullptr);",
            ["setCACertBundle() is not in arduino-esp32 1.0.6", "2.0.17"],
        ),
    ],
)
def test_api_missing_from_the_core_fails_to_compile_naming_it(
    cache, tmp_path, board, includes, body, words
):
    sketch = _sketch(tmp_path, "uses_missing_api", includes, body)
    with pytest.raises(ToolFailedError):
        _build(board, sketch, _header("127.0.0.1", 443), cache, tmp_path / "build.log")
    log = (tmp_path / "build.log").read_text()
    for w in words:
        assert w in log


def test_both_classes_of_242_link_into_one_firmware(cache, tmp_path):
    """Core 2.4.2 ships the axTLS WiFiClientSecure and BearSSL::WiFiClientSecure: a
    sketch may use both, each with its own API (the axTLS setCACert, BearSSL's
    setInsecure and probeMaxFragmentLength, 2.4.2's BearSSLX509List)."""
    body = (
        "  WiFiClientSecure ax;\n"
        "  static const uint8_t der[1] = {0};\n"
        "  ax.setCACert(der, 1);\n"
        "  BearSSL::WiFiClientSecure b;\n"
        "  b.setInsecure();\n"
        "  BearSSLX509List ta(hil_ca_cert_pem);\n"
        "  b.setTrustAnchors(&ta);\n"
        "  b.setBufferSizes(512, 512);\n"
        '  (void)BearSSL::WiFiClientSecure::probeMaxFragmentLength("127.0.0.1", 1, 512);'
    )
    includes = "\n".join(
        f"#include <{h}>"
        for h in ("ESP8266WiFi.h", "WiFiClientSecure.h", "WiFiClientSecureBearSSL.h")
    )
    sketch = _sketch(tmp_path, "both_classes", includes, body)
    firmware = _build(
        "twin-esp8266-2.4.2", sketch, _header("127.0.0.1", 443), cache, tmp_path / "build.log"
    )
    assert firmware.path.is_file()
