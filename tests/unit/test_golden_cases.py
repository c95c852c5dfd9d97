"""A golden's case.toml as a scenario for a twin board, and the case.toml a run records."""

from __future__ import annotations

import tomllib

import pytest

from harness.instruments.boards import get_board_spec
from harness.model import Expectation, Scenario
from harness.model.errors import ConfigError
from harness.run.golden import case_personality, case_toml, load_case, scenario_for_case
from harness.run.runinfo import RunInfo
from tests.samples import DATA

GOLDEN = DATA / "golden" / "esp8266-2.4.1"
BOARD = "twin-esp8266-axtls"


@pytest.mark.parametrize(
    ("case", "defines"),
    [
        ("do-2016-ssl-params", {"HIL_SET_CLOCK": "0"}),
        ("do-2016-ssl-params-fixed", {"HIL_SET_CLOCK": "1"}),
        ("do-2016-ssl-params-fixed--ip", {"HIL_SET_CLOCK": "1", "HIL_CONNECT_BY_IP": "1"}),
        (
            "do-2016-ssl-params-fixed--fingerprint",
            {"HIL_SET_CLOCK": "1", "HIL_TRUST_FINGERPRINT": "1"},
        ),
        ("do-2016-ssl-params-fixed--none", {"HIL_SET_CLOCK": "1", "HIL_TRUST_NONE": "1"}),
        ("do-2016-ssl-params-fixed--get", {"HIL_SET_CLOCK": "1", "HIL_READ_BODY": "1"}),
    ],
)
def test_a_recorded_case_becomes_the_default_sketch_with_its_switches(case, defines):
    s = scenario_for_case(load_case(GOLDEN / case), BOARD, case)
    assert (s.sketch, s.board) == ("https_get_esp8266_axtls", BOARD)
    assert dict(s.defines) == defines
    assert s.profile == case.split("--")[0]


def test_the_apache_case_runs_on_apache():
    s = scenario_for_case(load_case(GOLDEN / "do-2016-ssl-params--apache"), BOARD, "x")
    assert s.backend == "apache" and s.expectation.connected is False


def test_a_case_with_an_unknown_trust_is_refused():
    case = {**load_case(GOLDEN / "do-2016-ssl-params"), "trust": "known-key"}
    with pytest.raises(
        ConfigError, match=r"trust .known-key. has no switch in https_get_esp8266_axtls"
    ):
        scenario_for_case(case, BOARD, "x")


def test_a_directory_without_case_toml_is_not_a_golden(tmp_path):
    with pytest.raises(ConfigError, match="is not a golden recording"):
        load_case(tmp_path)
    (tmp_path / "case.toml").write_text('profile = "tls1.2-only"\n')
    with pytest.raises(ConfigError, match="no 'core'"):
        load_case(tmp_path)


def test_a_recorded_case_names_the_run_and_reads_back_as_its_scenario():
    scenario = Scenario(
        name="founding-report",
        description="d",
        sketch="founding_report",
        board=BOARD,
        profile="do-2016-ssl-params",
        expectation=Expectation(connected=False, cause="no_shared_cipher"),
        defines={"HIL_SET_CLOCK": "0"},
    )
    info = RunInfo(scenario, "127.0.0.1", "0.1.0")
    verdict = {"observed": {"connected": False, "cause": "no_shared_cipher"}}
    case = tomllib.loads(case_toml(info, get_board_spec(BOARD), verdict))
    assert case["core"] == "esp8266-2.4.1" and case["stack"] == "axtls"
    assert (case["connected"], case["cause"], case["host"]) == (
        False,
        "no_shared_cipher",
        "127.0.0.1",
    )
    again = scenario_for_case(case, BOARD, "again")
    assert (again.sketch, dict(again.defines)) == ("founding_report", {"HIL_SET_CLOCK": "0"})


def test_every_family_repeats_its_golden_cases_with_a_switched_sketch():
    # A family's recorder sketch (CASE_SKETCHES) comes first; the default sketch repeats
    # the cases of a family without one, so that one needs switches.
    from harness.model.sketches import DEFAULT_SKETCHES
    from harness.run.golden import CASE_SKETCHES, CASE_SWITCHES

    for key, default in DEFAULT_SKETCHES.items():
        assert CASE_SKETCHES.get(key, default) in CASE_SWITCHES, key


BEARSSL = DATA / "golden" / "esp8266-3.1.2"
ESP32 = DATA / "golden" / "esp32-2.0.17"


@pytest.mark.parametrize(
    ("case", "mode", "by_ip"),
    [
        ("do-2016-ssl-params", "ca", "0"),
        ("do-2016-ssl-params--less-secure", "lesssecure", "0"),
        ("do-2016-ssl-params--httpclient", "httpclient", "0"),
        ("do-2016-ssl-params--none", "none", "0"),
        ("self-signed--insecure", "insecure", "0"),
        ("mozilla-intermediate--fingerprint", "fingerprint", "0"),
        ("mozilla-intermediate--none--ip", "none", "1"),
        ("large-records--mfln--ip", "mfln", "1"),
        ("large-records--mfln", "mfln", "0"),
    ],
)
def test_a_bearssl_case_runs_the_recorders_sketch_in_its_mode(case, mode, by_ip):
    s = scenario_for_case(load_case(BEARSSL / case), "twin-esp8266-3.1.2", case)
    assert s.sketch == "golden_esp8266_bearssl"
    assert dict(s.defines) == {"HIL_GOLDEN_MODE": f'"{mode}"', "HIL_CONNECT_BY_IP": by_ip}
    assert s.server_name is None  # recorded dialing 127.0.0.1


@pytest.mark.parametrize(
    ("case", "trust", "name"),
    [
        ("tls1.2-only", "ca", None),
        ("tls1.2-only--dnsname", "ca", "localhost"),
        ("self-signed--insecure", "insecure", None),
        ("mozilla-intermediate--none", "none", None),
    ],
)
def test_an_esp32_case_dials_the_recorded_host(case, trust, name):
    s = scenario_for_case(load_case(ESP32 / case), "twin-esp32-2.0.17", case)
    assert s.sketch == "golden_esp32"
    assert dict(s.defines) == {"HIL_GOLDEN_TRUST": f'"{trust}"'}
    assert s.server_name == name


def test_an_esp32_case_connecting_by_ipaddress_is_refused():
    case = {**load_case(ESP32 / "tls1.2-only"), "connect_by": "ip"}
    with pytest.raises(ConfigError, match=r"connect_by 'ip' has no switch in golden_esp32"):
        scenario_for_case(case, "twin-esp32-2.0.17", "x")


CORE_242 = DATA / "golden" / "esp8266-2.4.2"


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("mozilla-intermediate--bearssl", {"HIL_GOLDEN_X509_GLOBAL_NAME": "1"}),
        ("mozilla-intermediate--bearssl--fingerprint", {"HIL_GOLDEN_FP_BYTES": "1"}),
        ("self-signed--bearssl--insecure", {}),
        ("large-records--bearssl--mfln--ip", {"HIL_GOLDEN_X509_GLOBAL_NAME": "1"}),
    ],
)
def test_a_242_bearssl_case_runs_the_bearssl_sketch_with_242s_names(case, extra):
    golden = load_case(CORE_242 / case)
    s = scenario_for_case(golden, "twin-esp8266-2.4.2", case)
    assert s.sketch == "golden_esp8266_bearssl"  # the case's stack, not the board's axTLS
    assert extra.items() <= dict(s.defines).items()
    assert case_personality(get_board_spec("twin-esp8266-2.4.2"), golden) == "esp8266-bearssl"
    # The axTLS goldens of the same release keep the axTLS sketch and personality.
    axtls = load_case(CORE_242 / "do-2016-ssl-params")
    assert scenario_for_case(axtls, "twin-esp8266-2.4.2", "x").sketch != s.sketch
    assert case_personality(get_board_spec("twin-esp8266-2.4.2"), axtls) == "esp8266-axtls"


def test_a_bearssl_case_on_a_release_without_bearssl_is_refused():
    golden = load_case(CORE_242 / "mozilla-intermediate--bearssl")
    with pytest.raises(ConfigError, match="does not have"):
        case_personality(get_board_spec("twin-esp8266-2.4.1"), golden)
