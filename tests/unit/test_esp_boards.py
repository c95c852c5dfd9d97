"""Real boards in the registry: one `esp` board per core release, registered by kind,
its PlatformIO environment made from the release data."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments.boards import BOARD_KINDS, BOARDS, SPEC_FACTORIES, open_board
from harness.instruments.boards.esp import EspBoard
from harness.instruments.boards.esp_project import debug_flags, env_name, framework_package
from harness.model.cores import releases
from harness.model.errors import ConfigError


def test_every_release_has_a_twin_and_a_real_board():
    for core in releases():
        assert BOARDS[f"twin-{core.id}"].kind == "twin"
        if not core.platformio.platform:
            # No PlatformIO platform builds the release (arduino-esp32 3.x): no real board.
            assert f"esp-{core.id}" not in BOARDS
            continue
        esp = BOARDS[f"esp-{core.id}"]
        assert esp.kind == "esp" and esp.core == core
        assert core.platformio.platform in esp.description
    assert set(SPEC_FACTORIES) == set(BOARD_KINDS)


def test_debug_flags_match_the_arduino_ide_menus():
    by_id = {core.id: core for core in releases()}
    assert debug_flags(by_id["esp8266-2.4.1"]) == ["-DDEBUG_ESP_PORT=Serial", "-DDEBUG_ESP_SSL"]
    assert debug_flags(by_id["esp8266-3.1.2"]) == ["-DDEBUG_ESP_PORT=Serial", "-DDEBUG_ESP_SSL"]
    assert debug_flags(by_id["esp32-2.0.17"]) == ["-DCORE_DEBUG_LEVEL=5"]


def test_environment_names_and_packages():
    core = next(c for c in releases() if c.id == "esp8266-3.1.2")
    assert env_name(core) == "esp-esp8266-3_1_2"
    assert framework_package(core) == "platformio/framework-arduinoespressif8266 @ ~3.30102.0"


def test_a_real_board_without_a_bench_entry_says_how_to_get_one(tmp_path: Path):
    board = open_board("esp-esp8266-2.4.1", cache_dir=tmp_path, run_dir=tmp_path)
    assert isinstance(board, EspBoard)
    with pytest.raises(ConfigError, match="bench file"):
        _ = board.serial_port
