"""`hil run --board --profile`: the scenario composed from options, and its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.instruments.boards import BOARDS, get_board_spec
from harness.instruments.boards.base import core_id
from harness.model.errors import ConfigError
from harness.model.sketches import DEFAULT_SKETCHES, default_sketch
from harness.run.composed import compose_scenario

SKETCHES = Path(__file__).resolve().parents[2] / "sketches"


def test_without_a_sketch_the_board_family_and_stack_choose_it():
    s = compose_scenario(board="twin-esp8266-axtls", profile="do-2016-ssl-params-fixed")
    assert s.sketch == "https_get_esp8266_axtls"
    assert (s.board, s.profile, s.backend) == (
        "twin-esp8266-axtls",
        "do-2016-ssl-params-fixed",
        "builtin",
    )
    assert s.expectation.connected is True and s.expectation.cause is None
    assert s.name == "twin-esp8266-axtls--do-2016-ssl-params-fixed--https_get_esp8266_axtls"


def test_every_default_sketch_exists_with_a_readme():
    for (family, stack), name in DEFAULT_SKETCHES.items():
        folder = SKETCHES / name
        assert (folder / f"{name}.ino").is_file(), (family, stack)
        assert (folder / "README.md").is_file(), (family, stack)


def test_every_board_with_a_core_names_a_known_core_family():
    for spec in BOARDS.values():
        assert core_id(spec).partition("-")[0] in {"esp8266", "esp32"}, spec.name


def test_a_family_without_a_default_sketch_is_a_clear_error():
    with pytest.raises(ConfigError, match="has no default sketch") as err:
        default_sketch("twin-esp99", "esp99-1.0.0", "wolfssl")
    assert "--sketch DIR" in err.value.fix


def test_an_explicit_sketch_folder_is_used_as_given(tmp_path):
    s = compose_scenario(
        board="twin-esp8266-axtls",
        profile="do-2016-ssl-params",
        sketch=SKETCHES / "founding_report",
        expect_cause="no_shared_cipher",
    )
    assert s.sketch == str((SKETCHES / "founding_report").resolve())
    assert (s.expectation.connected, s.expectation.cause) == (False, "no_shared_cipher")
    with pytest.raises(ConfigError, match="is not a directory"):
        compose_scenario(board="twin-esp8266-axtls", profile="tls1.2-only", sketch=tmp_path / "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"board": "no-such-board", "profile": "tls1.2-only"}, "unknown board"),
        ({"board": "twin-esp8266-axtls", "profile": "no-such-profile"}, "no-such-profile"),
        ({"board": "twin-esp8266-axtls", "profile": None}, "needs both --board and --profile"),
        (
            {"board": "twin-esp8266-axtls", "profile": "tls1.2-only", "expect_cause": "bogus"},
            "not in the catalogue",
        ),
        (
            {
                "board": "twin-esp8266-axtls",
                "profile": "tls1.2-only",
                "expect_connected": "yes",
                "expect_cause": "no_shared_cipher",
            },
            "a run that connects has no cause",
        ),
        (
            {"board": "twin-esp8266-axtls", "profile": "sni-strict", "backend": "apache"},
            "does not run on the apache backend",
        ),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compose_scenario(**kwargs)


def test_the_cli_refuses_a_scenario_and_options_together(capsys):
    assert main(["run", "founding-report", "--board", "twin-esp8266-axtls"]) == 2
    assert "more than one of a scenario name" in capsys.readouterr().err


def test_the_cli_names_a_missing_profile(capsys):
    assert main(["run", "--board", "twin-esp8266-axtls"]) == 2
    assert "needs both --board and --profile" in capsys.readouterr().err


def test_the_axtls_twin_is_core_2_4_1():
    assert core_id(get_board_spec("twin-esp8266-axtls")) == "esp8266-2.4.1"


def test_a_composed_twin_run_dials_a_host_name_a_real_board_the_bench_address():
    # By the IP literal, BearSSL and mbedTLS 2.x fail every CA-verified connect to a
    # certificate with an iPAddress SAN: the twin's composed runs dial "localhost".
    twin = compose_scenario(board="twin-esp8266-axtls", profile="do-2016-ssl-params-fixed")
    assert twin.server_name == "localhost"
    real = compose_scenario(board="esp-esp8266-2.4.1", profile="do-2016-ssl-params-fixed")
    assert real.server_name is None


def test_a_scenario_file_may_name_its_server(tmp_path):
    from harness.run.runinfo import read_run_info, write_run_info
    from harness.run.scenarios import load_scenario_file

    path = tmp_path / "named.toml"
    path.write_text(
        'description = "d"\nsketch = "tls_client"\nboard = "twin-esp8266-3.1.2"\n'
        'profile = "mozilla-intermediate"\nserver_name = "hil.example.test"\n'
        "[expect]\nconnected = true\n"
    )
    scenario = load_scenario_file(path)
    assert scenario.server_name == "hil.example.test"
    write_run_info(scenario, "hil.example.test", tmp_path)
    back = read_run_info(tmp_path)
    assert back.scenario.server_name == "hil.example.test"
    assert back.host == "hil.example.test"
