import pytest

from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import Line, read_pasted_log
from harness.model.errors import ConfigError
from tests.samples import DATA, FOUNDING_LOG

LOGS = DATA / "logs"


@pytest.mark.parametrize(
    ("path", "stack"),
    [
        (FOUNDING_LOG, "axtls"),
        (LOGS / "esp8266-arduino-7801_bearssl_timeout.log", "bearssl"),
        (LOGS / "esp8266-arduino-6247_wifi_connect.log", "bearssl"),
        (LOGS / "arduino-esp32-5480_x509_verify_failed.log", "mbedtls"),
        (LOGS / "arduinowebsockets-649_x509_verify_failed.log", "mbedtls"),
        (LOGS / "esp8266-arduino-6232_exception28.log", None),
    ],
)
def test_detect_stack(path, stack):
    assert detect_stack(read_pasted_log(path.read_text())) == stack


def test_auto_parses_with_the_detected_stack():
    lines = read_pasted_log((LOGS / "esp8266-arduino-7843_bearssl_no_auth.log").read_text())
    assert parse_serial(lines, "auto") == parse_serial(lines, "bearssl")
    assert parse_serial(iter(lines), "auto") == parse_serial(lines, "bearssl")


def test_unknown_stack_is_a_config_error():
    with pytest.raises(ConfigError):
        parse_serial([Line(0.0, "x")], "wolfssl")


def test_pasted_log_quotes_stamps_and_escapes():
    text = (
        "> 12:00:01.250 -> BSSL:_wait_for_handshake: failed\r\n"
        "> > 12:00:01.300 > Soft WDT reset\n"
        ">\n"
        "[2023-04-22 10:39:43.556] \u241b[0;32mI (1) wifi:hello\u241b[0m\n"
        ">>>stack>>>\n"
        "no stamp\n"
    )
    lines = read_pasted_log(text)
    assert [ln.text for ln in lines] == [
        "BSSL:_wait_for_handshake: failed",
        "Soft WDT reset",
        "",
        "I (1) wifi:hello",
        ">>>stack>>>",
        "no stamp",
    ]
    assert lines[0].t == 12 * 3600 + 1.25 and lines[1].t == 12 * 3600 + 1.3
    assert [ln.t for ln in lines] == sorted(ln.t for ln in lines)


@pytest.mark.parametrize(
    ("pasted", "kept"),
    [
        (
            "Alert: handshake failure **<== why failed, but browser always sucess ?**",
            "Alert: handshake failure",
        ),
        ("Error: SSL error 40 <-- here", "Error: SSL error 40"),
        ("Alert: unexpected message <== why strange message here?", "Alert: unexpected message"),
        ("connecting to https://example.com // my server", "connecting to https://example.com"),
        # Not remarks: a stack marker, a URL, bold that starts the line, a lone arrow.
        ("<<<stack<<<", "<<<stack<<<"),
        ("GET https://example.com/a//b", "GET https://example.com/a//b"),
        ("**Connection failed**", "**Connection failed**"),
        ("state: 0 -> 2 (b0)", "state: 0 -> 2 (b0)"),
    ],
)
def test_a_remark_at_a_line_end_is_dropped(pasted: str, kept: str) -> None:
    assert [ln.text for ln in read_pasted_log(pasted)] == [kept]
