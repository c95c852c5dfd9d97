"""`hil reproduce`'s choices, made from a log without running anything, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model.errors import ConfigError
from harness.run.reproduce import plan_reproduction
from harness.run.reproduce.compare import compare, normalise
from harness.run.runner import BenchConfig
from tests.samples import DATA

LOGS = DATA / "logs"


@pytest.fixture
def config(tmp_path: Path) -> BenchConfig:
    return BenchConfig(runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")


def test_the_founding_paste_chooses_core_2_4_1_and_the_2016_server(config):
    plan, _facts, diagnosis, pasted = plan_reproduction(
        LOGS / "esp8266-arduino-4826_as_pasted.log", config
    )
    assert diagnosis.cause == "no_shared_cipher"
    assert (plan.core.value, plan.board) == ("esp8266-2.4.1", "twin-esp8266-2.4.1")
    assert plan.profile.value == "do-2016-ssl-params"
    assert plan.sketch.value == "founding_report"  # the paste shows its "Set CA Cert" lines
    assert plan.defines == {"HIL_TRUST": "1", "HIL_SET_CLOCK": "0"}
    assert "Alert: handshake failure" in pasted


def test_a_bearssl_log_without_a_release_takes_the_newest_its_lines_allow(config):
    plan, *_ = plan_reproduction(LOGS / "esp8266-arduino-7843_bearssl_no_auth.log", config)
    assert plan.core.value == "esp8266-3.1.2" and "2.5.1 or later" in plan.core.why
    assert (plan.profile.value, plan.defines["HIL_TRUST"]) == ("mozilla-intermediate", "0")


def test_an_esp32_1_0_x_log_takes_the_1_0_6_twin(config):
    plan, *_ = plan_reproduction(LOGS / "arduino-esp32-5480_x509_verify_failed.log", config)
    assert plan.core.value == "esp32-1.0.6" and plan.profile.value == "untrusted-root"


def test_a_certificate_cause_has_the_twin_dial_the_name_its_certificate_carries(config):
    # An untrusted chain by the IP literal would fail the name check first on mbedTLS 2.x:
    # the twin dials localhost, which the certificate names in a dNSName SAN.
    plan, _facts, diagnosis, _ = plan_reproduction(
        LOGS / "arduino-esp32-5480_x509_verify_failed.log", config
    )
    assert diagnosis.cause == "untrusted_cert"
    assert (plan.board, plan.profile.value) == ("twin-esp32-1.0.6", "untrusted-root")
    assert plan.server_name is not None and plan.server_name.value == "localhost"
    assert "hostname_mismatch" in plan.server_name.why
    assert plan.to_json()["server_name"] == "localhost"
    # A cause no name check hides keeps the bench address (the founding paste dials an IP).
    founding, *_ = plan_reproduction(LOGS / "esp8266-arduino-4826_as_pasted.log", config)
    assert founding.server_name is None


def test_a_key_size_from_the_certificate_dump_composes_the_plan(config, tmp_path):
    log = tmp_path / "big-key.log"
    text = (LOGS / "esp8266-arduino-4826_as_pasted.log").read_text()
    log.write_text(
        text.replace("RSA bitsize:\t\t\t2048", "RSA bitsize:\t\t\t4096").replace(
            "Alert: handshake failure", "Alert: certificate expired"
        )
    )
    plan, facts, _diagnosis, _ = plan_reproduction(log, config, profile="rsa-4096")
    assert facts.cert.key_bits == 4096
    assert plan.cert_plan is not None and plan.cert_plan.value == "ca-rsa-4096"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "does not tell which board or core"),
        ("\x00\x01\x02garbage\n" * 20, "does not tell which board or core"),
        ("SDK:2.2.1(cfd48f3)/Core:2.3.0/lwIP:1.4.0\nState:\tsending Client Hello (1)\n"
         "Alert: handshake failure\nError: SSL error 40\n", "2.3.0 with axtls is not a modelled"),
        ("[  4706][V][ssl_client.cpp:62] start_ssl_client(): Free internal heap before TLS 1\n"
         "[  4712][V][ssl_client.cpp:318] start_ssl_client(): Certificate verified.\n",
         "names no cause to reproduce"),
    ],
)  # fmt: skip
def test_logs_with_nothing_to_go_on_get_a_clear_error(config, tmp_path, text, said):
    log = tmp_path / "paste.log"
    log.write_text(text)
    with pytest.raises(ConfigError) as err:
        plan_reproduction(log, config)
    assert said in str(err.value)
    assert err.value.fix


def test_an_unknown_core_lists_the_modelled_ones(config):
    with pytest.raises(ConfigError) as err:
        plan_reproduction(LOGS / "esp8266-arduino-4826_as_pasted.log", config, core="2.9.9")
    assert "esp8266-2.4.1" in str(err.value) and "esp32-2.0.17" in str(err.value)


def test_a_missing_log_is_named(config, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        plan_reproduction(tmp_path / "nope.log", config)


def test_lines_compare_with_addresses_numbers_and_blanks_masked():
    assert normalise("Connecting to 192.168.1.210") == normalise("Connecting to 127.0.0.1")
    assert normalise("[E][WiFiClientSecure.cpp:133] connect(): x") == normalise(
        "[   548][E][WiFiClientSecure.cpp:127] connect(): x"
    )
    c = compare(["Alert: handshake failure", "Error: SSL error 40"], ["Alert: handshake failure"])
    assert (c.matched, c.pasted, c.twin) == (1, 2, 1)
    assert round(c.similarity, 3) == round(2 / 3, 3)
    assert c.rows[0][1] == "=" and c.rows[1][1] == "<"
    assert compare([], []).similarity == 0.0


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("esp8266-arduino-2758_failed_to_grow_plain_buffer.log", "out_of_memory"),
        ("esp8266-arduino-7801_bearssl_timeout.log", "handshake_timeout"),
    ],
)
def test_a_cause_the_twin_cannot_stage_is_said_first(config, name, cause):
    with pytest.raises(ConfigError) as err:
        plan_reproduction(LOGS / name, config)
    assert f"{cause}, cannot be staged on the twin" in str(err.value)
