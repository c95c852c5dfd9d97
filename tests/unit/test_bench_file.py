"""Bench files: the shipped example loads; each mistake is refused naming the file,
the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.instruments.boards.bench import bench_path, load_bench, parse_port
from harness.model.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "harness/instruments/boards/sim/example-bench.toml"

BOARD = """
[[board]]
name = "b1"
chip = "esp8266"
cores = ["2.4.1"]
port = "/dev/ttyUSB0"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def test_the_example_loads():
    bench = load_bench(EXAMPLE)
    board = bench.board("sim-esp8266")
    assert board.port.kind == "rfc2217" and board.reset == "dtr-rts"
    assert board.core_ids() == ("esp8266-2.4.1", "esp8266-3.1.2")
    assert bench.bind == "127.0.0.1" and bench.capture_interface == "lo"


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("/dev/serial/by-id/usb-Silicon_Labs-if00", ("path", "", 0, 0, "")),
        ("serial:A50285BI", ("serial", "A50285BI", 0, 0, "")),
        ("usb:10c4:ea60@1-1.2", ("usb", "", 0x10C4, 0xEA60, "1-1.2")),
        ("rfc2217://127.0.0.1:4000", ("rfc2217", "", 0, 0, "")),
    ],
)
def test_port_forms(text: str, port: tuple):
    p = parse_port(text, "here")
    assert (p.kind, p.serial_number, p.vid, p.pid, p.location) == port


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (BOARD.replace('port = "/dev/ttyUSB0"', 'port = "COM3"'), ["board[b1].port", "COM3"]),
        (BOARD.replace('port = "/dev/ttyUSB0"\n', ""), ["board[b1].port", "missing"]),
        (BOARD.replace('"2.4.1"', '"9.9.9"'), ["board[b1].cores", "9.9.9", "2.4.1"]),
        (BOARD.replace('"esp8266"', '"esp8285"'), ["board[b1].chip", "esp8285"]),
        (BOARD + "baud = 12345\n", ["board[b1].baud", "12345"]),
        (BOARD + 'reset = "command"\n', ["board[b1].reset_command"]),
        (BOARD + 'reset = "magic"\n', ["board[b1].reset", "dtr-rts"]),
        (BOARD + "colour = 1\n", ["board[b1].colour", "unknown key"]),
        (BOARD + BOARD, ["board[b1].name", "two boards"]),
        ('[bench]\nbind = "0.0.0.0"\n' + BOARD, ["bench.bind", "LAN address"]),
        ('[bench]\nbind = "lan"\n' + BOARD, ["bench.bind", "IPv4"]),
        ('[wifi]\nssid_env = "my secret ssid"\npassword_env = "P"\n', ["wifi.ssid_env"]),
        ("[[board\n", ["not valid TOML"]),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, words: list[str]):
    with pytest.raises(ConfigError) as info:
        load_bench(write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "bench.toml") in message
    assert "fix:" in message
    for word in words:
        assert word in message


def test_wifi_credentials_come_from_the_environment(tmp_path: Path, monkeypatch):
    path = write(tmp_path, '[wifi]\nssid_env = "T_SSID"\npassword_env = "T_PASS"\n' + BOARD)
    bench = load_bench(path)
    monkeypatch.delenv("T_SSID", raising=False)
    monkeypatch.delenv("T_PASS", raising=False)
    with pytest.raises(ConfigError, match="T_SSID, T_PASS, not set"):
        bench.wifi_credentials()
    monkeypatch.setenv("T_SSID", "lab")
    monkeypatch.setenv("T_PASS", "pw")
    assert bench.wifi_credentials() == ("lab", "pw")
    assert "lab" not in path.read_text()
    with pytest.raises(ConfigError, match=r"no \[wifi\] table"):
        load_bench(write(tmp_path, BOARD)).wifi_credentials()


def test_bench_path_from_option_or_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("HIL_BENCH", str(tmp_path / "env.toml"))
    assert bench_path("given.toml") == Path("given.toml")
    assert bench_path(None) == tmp_path / "env.toml"
    monkeypatch.delenv("HIL_BENCH")
    assert bench_path(None) is None


def test_unknown_board_and_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"no \[\[board\]\] named 'nope'(.|\n)*b1"):
        load_bench(write(tmp_path, BOARD)).board("nope")
    with pytest.raises(ConfigError, match="does not exist"):
        load_bench(tmp_path / "missing.toml")


PLACE_BOARD = BOARD.replace('port = "/dev/ttyUSB0"', 'place = "esp8266-1"')
LABGRID = '[labgrid]\ncoordinator = "127.0.0.1:20408"\n'


def test_a_board_may_name_a_labgrid_place(tmp_path: Path):
    board = load_bench(write(tmp_path, LABGRID + PLACE_BOARD)).board("b1")
    assert (board.port.kind, board.port.place) == ("place", "esp8266-1")
    assert board.port.coordinator == "127.0.0.1:20408"
    assert "esp8266-1" in board.port.text
    # labgrid's default port when the address has none
    text = '[labgrid]\ncoordinator = "farm.lan"\n' + PLACE_BOARD + 'reset = "place-power"\n'
    board = load_bench(write(tmp_path, text)).board("b1")
    assert board.port.coordinator == "farm.lan:20408" and board.reset == "place-power"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (PLACE_BOARD, ["board[b1].place", "no [labgrid] table", "coordinator ="]),
        (LABGRID + PLACE_BOARD + 'port = "/dev/ttyUSB1"\n', ["board[b1].place", "not both"]),
        (LABGRID + PLACE_BOARD.replace("esp8266-1", "a place"), ["'a place'", "places"]),
        ('[labgrid]\ncoordinator = "http://x:1"\n' + PLACE_BOARD, ["labgrid.coordinator"]),
        ('[labgrid]\ncoordinator = "h:99999"\n' + PLACE_BOARD, ["labgrid.coordinator", "h:99999"]),
        ('[labgrid]\nhost = "h"\n' + PLACE_BOARD, ["labgrid.host", "unknown key"]),
        (BOARD + 'reset = "place-power"\n', ["board[b1].reset", "names a port"]),
        (LABGRID + PLACE_BOARD + PLACE_BOARD.replace('"b1"', '"b2"'), ["esp8266-1", "two boards"]),
    ],
)
def test_place_mistakes_are_named(tmp_path: Path, text: str, words: list[str]):
    with pytest.raises(ConfigError) as info:
        load_bench(write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "bench.toml") in message and "fix:" in message
    for word in words:
        assert word in message
