"""Where a scenario runs: a twin, or a bench board (harness/run/target.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments.boards.bench import load_bench
from harness.model.errors import ConfigError
from harness.run.scenarios import load_scenario
from harness.run.target import resolve_target

BENCH = """
[bench]
{bind}
[[board]]
name = "desk-a"
chip = "esp8266"
cores = ["2.4.1", "3.1.2"]
port = "rfc2217://127.0.0.1:4001"

[[board]]
name = "desk-b"
chip = "esp8266"
cores = ["2.4.1"]
port = "rfc2217://127.0.0.1:4002"

[[board]]
name = "desk-32"
chip = "esp32"
cores = ["2.0.17"]
port = "/dev/ttyUSB9"
"""


def bench(tmp_path: Path, bind: str = ""):
    path = tmp_path / "bench.toml"
    path.write_text(BENCH.format(bind=f'bind = "{bind}"' if bind else ""))
    return load_bench(path)


SCENARIO = load_scenario("founding-report")  # twin-esp8266-axtls = core 2.4.1


def test_without_a_bench_board_a_twin_scenario_runs_on_its_twin(tmp_path: Path):
    target = resolve_target(
        SCENARIO, bench=bench(tmp_path), board_name=None, port=None, bind="127.0.0.1"
    )
    assert target.bench_board is None and target.scenario is SCENARIO
    assert target.info() == {} and target.bind == "127.0.0.1" and not target.external


def test_a_bench_board_runs_the_real_board_of_the_same_core(tmp_path: Path):
    target = resolve_target(
        SCENARIO, bench=bench(tmp_path), board_name="desk-b", port=None, bind="127.0.0.1"
    )
    assert target.scenario.board == "esp-esp8266-2.4.1"
    assert target.info() == {
        "bench_board": "desk-b",
        "port": "rfc2217://127.0.0.1:4002",
        "core": "esp8266-2.4.1",
    }


def test_the_port_option_overrides_the_bench_files(tmp_path: Path):
    target = resolve_target(
        SCENARIO, bench=bench(tmp_path), board_name="desk-a", port="/dev/ttyACM3", bind="x"
    )
    assert target.bench_board is not None and target.bench_board.port.text == "/dev/ttyACM3"


def test_the_lan_address_only_when_the_bench_file_gives_it(tmp_path: Path):
    plain = resolve_target(
        SCENARIO, bench=bench(tmp_path), board_name="desk-a", port=None, bind="127.0.0.1"
    )
    assert plain.bind == "127.0.0.1" and not plain.external
    lan = resolve_target(
        SCENARIO,
        bench=bench(tmp_path, bind="192.168.1.20"),
        board_name="desk-a",
        port=None,
        bind="127.0.0.1",
    )
    assert lan.bind == "192.168.1.20" and lan.external


def test_an_unknown_board_lists_the_benchs_boards(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"no \[\[board\]\] named 'desk-z'") as info:
        resolve_target(SCENARIO, bench=bench(tmp_path), board_name="desk-z", port=None, bind="")
    assert "use one of: desk-a, desk-b, desk-32" in str(info.value)


def test_a_board_without_a_bench(tmp_path: Path):
    with pytest.raises(ConfigError, match="--hil-board desk-a without a bench file") as info:
        resolve_target(SCENARIO, bench=None, board_name="desk-a", port=None, bind="")
    assert "--hil-bench FILE, ini hil_bench or HIL_BENCH" in str(info.value)


def test_a_board_without_the_scenarios_core(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"needs core esp8266-2\.4\.1, but bench board desk-32"):
        resolve_target(SCENARIO, bench=bench(tmp_path), board_name="desk-32", port=None, bind="")


def test_an_esp_scenario_picks_the_only_board_of_its_core_or_asks(tmp_path: Path):
    from dataclasses import replace

    on_312 = replace(SCENARIO, board="esp-esp8266-3.1.2")
    target = resolve_target(on_312, bench=bench(tmp_path), board_name=None, port=None, bind="")
    assert target.bench_board is not None and target.bench_board.name == "desk-a"
    on_241 = replace(SCENARIO, board="esp-esp8266-2.4.1")
    with pytest.raises(ConfigError, match=r"boards desk-a, desk-b .* all run core") as info:
        resolve_target(on_241, bench=bench(tmp_path), board_name=None, port=None, bind="")
    assert "--hil-board" in str(info.value)
    with pytest.raises(ConfigError, match="a real board, but no bench file"):
        resolve_target(on_241, bench=None, board_name=None, port=None, bind="")
