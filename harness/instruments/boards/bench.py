"""The bench file: which real boards are on this bench and how to reach them.

TOML, named by `--hil-bench`, the `hil_bench` ini key or `HIL_BENCH`:

    [bench]
    bind = "192.168.1.20"          # optional: the bench's LAN address the boards reach
    capture_interface = "eth0"     # where their traffic crosses (default: lo)

    [wifi]                         # the credentials live in the environment, never here
    ssid_env = "HIL_WIFI_SSID"
    password_env = "HIL_WIFI_PASSWORD"

    [[board]]
    name = "nodemcu-1"
    chip = "esp8266"
    cores = ["2.4.1", "3.1.2"]     # core versions this board runs (harness/model/cores)
    port = "/dev/ttyUSB0"          # or "serial:A50285BI", "usb:10c4:ea60@1-1.2",
                                   # or "rfc2217://127.0.0.1:4000"
    baud = 115200                  # what the sketch prints at
    upload_speed = 460800
    reset = "dtr-rts"              # or "none", or "command" with reset_command = [argv]
    simulated = false              # true: the board is `hil sim-board`; its firmware is
                                   # the host twin of the sketch, in an ESP8266 image

A board of a labgrid farm names a place instead of a port (the [farm] extra); the run
acquires it through the coordinator and uses its NetworkSerialPort (farm.py):

    [labgrid]
    coordinator = "127.0.0.1:20408"   # labgrid-coordinator's host:port

    [[board]]
    name = "farm-1"
    chip = "esp8266"
    cores = ["3.1.2"]
    place = "esp8266-1"             # instead of port
    reset = "dtr-rts"               # over RFC2217; or "place-power": the place's power

Every error names the file, the key and the fix. Nothing here opens a port.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.cores import releases
from harness.model.errors import ConfigError

RESET_METHODS = ("dtr-rts", "none", "command", "place-power")
CHIPS = ("esp8266", "esp32")
BAUDS = (9600, 19200, 38400, 57600, 74880, 115200, 230400, 460800, 921600, 1500000)
PORT_FORMS = (
    "a device path (/dev/ttyUSB0, /dev/serial/by-id/...), serial:<USB serial number>, "
    "usb:<vid>:<pid>@<location> or rfc2217://127.0.0.1:<port>"
)
_USB = re.compile(r"usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})@(\S+)")
_RFC2217 = re.compile(r"rfc2217://([^:/]+):(\d+)(\?.*)?")
# labgrid's place names and a coordinator's host[:port] (labgrid's default port 20408).
_PLACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_COORDINATOR = re.compile(r"([A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?")
LABGRID_PORT = 20408


@dataclass(frozen=True)
class PortSpec:
    """How the bench file names a port; `kind` is path, serial, usb, rfc2217 or place
    (a labgrid place, reached through `coordinator`, acquired by farm.py)."""

    text: str
    kind: str
    serial_number: str = ""
    vid: int = 0
    pid: int = 0
    location: str = ""
    place: str = ""
    coordinator: str = ""


@dataclass(frozen=True)
class BenchBoard:
    name: str
    chip: str
    cores: tuple[str, ...]
    port: PortSpec
    baud: int = 115200
    upload_speed: int = 460800
    reset: str = "dtr-rts"
    reset_command: tuple[str, ...] = ()
    simulated: bool = False  # `hil sim-board`: it runs the twin of the sketch it is given

    def core_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.chip}-{v}" for v in self.cores)


@dataclass(frozen=True)
class WifiSpec:
    ssid_env: str
    password_env: str


@dataclass(frozen=True)
class Bench:
    path: Path
    boards: Mapping[str, BenchBoard]
    bind: str = "127.0.0.1"
    capture_interface: str = "lo"
    wifi: WifiSpec | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def board(self, name: str) -> BenchBoard:
        try:
            return self.boards[name]
        except KeyError:
            raise ConfigError(
                f"{self.path}: no [[board]] named {name!r}",
                fix=f"use one of: {', '.join(self.boards) or '(none: add a [[board]])'}",
            ) from None

    def wifi_credentials(self) -> tuple[str, str]:
        """(ssid, password) from the environment variables the file names."""
        if self.wifi is None:
            raise ConfigError(
                f"{self.path}: no [wifi] table, but this needs WiFi credentials",
                fix='add [wifi] ssid_env = "HIL_WIFI_SSID", password_env = "HIL_WIFI_PASSWORD"'
                " and set those variables",
            )
        missing = [v for v in (self.wifi.ssid_env, self.wifi.password_env) if v not in os.environ]
        if missing:
            raise ConfigError(
                f"{self.path}: [wifi] names {', '.join(missing)}, not set in the environment",
                fix=f"export {missing[0]}=... before the run (the file never holds them)",
            )
        return os.environ[self.wifi.ssid_env], os.environ[self.wifi.password_env]


def parse_port(text: str, where: str) -> PortSpec:
    if text.startswith("/"):
        return PortSpec(text, "path")
    if text.startswith("serial:") and len(text) > len("serial:"):
        return PortSpec(text, "serial", serial_number=text.removeprefix("serial:"))
    if m := _USB.fullmatch(text):
        return PortSpec(text, "usb", vid=int(m[1], 16), pid=int(m[2], 16), location=m[3])
    if m := _RFC2217.fullmatch(text):
        return PortSpec(text, "rfc2217")
    raise ConfigError(f"{where}: {text!r} is not a port", fix=f"write it as {PORT_FORMS}")


class _Table:
    def __init__(self, path: Path, table: Mapping[str, Any], where: str) -> None:
        self.path, self.table, self.where = path, table, where

    def err(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}: key '{self.where}{key}': {problem}", fix=fix)

    def get(self, key: str, kind: type, default: Any = None, *, example: str) -> Any:
        if key not in self.table:
            if default is not None:
                return default
            raise self.err(key, "missing", f"add {key} = {example}")
        value = self.table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.err(key, f"{value!r} is not {kind.__name__}", f"write {key} = {example}")
        return value

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.table) - known)
        if extra:
            raise self.err(extra[0], "unknown key", f"use only: {', '.join(sorted(known))}")


def place_port(place: str, coordinator: str) -> PortSpec:
    return PortSpec(
        f"labgrid place {place} at {coordinator}", "place", place=place, coordinator=coordinator
    )


def _coordinator(t: _Table) -> str:
    """The [labgrid] table's coordinator as host:port; None-free, validated."""
    text = t.get("coordinator", str, example='"127.0.0.1:20408"')
    m = _COORDINATOR.fullmatch(text)
    port = int(m[2]) if m and m[2] else LABGRID_PORT
    if not m or not 0 < port < 65536:
        raise t.err(
            "coordinator",
            f"{text!r} is not a coordinator address",
            'write coordinator = "HOST:PORT", e.g. "127.0.0.1:20408" (labgrid-coordinator -l)',
        )
    return f"{m[1]}:{port}"


def _port_or_place(t: _Table, name: str, coordinator: str | None) -> PortSpec:
    has_port, has_place = "port" in t.table, "place" in t.table
    if has_port and has_place:
        raise t.err(
            "place",
            "a board names a port or a labgrid place, not both",
            "keep port for a board on this machine, place for a board of the farm",
        )
    if not has_place:
        return parse_port(
            t.get("port", str, example='"/dev/ttyUSB0"'), f"{t.path}: key board[{name}].port"
        )
    place = t.get("place", str, example='"esp8266-1"')
    if not _PLACE.fullmatch(place):
        raise t.err("place", f"{place!r} is not a labgrid place name",
                    "use the name `labgrid-client places` lists")  # fmt: skip
    if coordinator is None:
        raise t.err(
            "place",
            f"names labgrid place {place!r}, but the file has no [labgrid] table",
            'add [labgrid] coordinator = "HOST:PORT" (where labgrid-coordinator listens)',
        )
    return place_port(place, coordinator)


def _board(
    path: Path,
    raw: Any,
    index: int,
    versions: Mapping[str, set[str]],
    coordinator: str | None = None,
) -> BenchBoard:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [[board]] #{index + 1} is not a table", fix="see bench docs")
    name = raw.get("name") if isinstance(raw.get("name"), str) else f"#{index + 1}"
    t = _Table(path, raw, f"board[{name}].")
    t.unknown(
        {"name", "chip", "cores", "port", "place", "baud", "upload_speed", "reset", "reset_command"}
        | {"simulated"}
    )
    name = t.get("name", str, example='"nodemcu-1"')
    chip = t.get("chip", str, example='"esp8266"')
    if chip not in CHIPS:
        raise t.err(
            "chip", f"{chip!r} is not a chip the harness knows", f"use {' or '.join(CHIPS)}"
        )
    cores = t.get("cores", list, example='["3.1.2"]')
    for v in cores:
        if v not in versions.get(chip, set()):
            known = ", ".join(sorted(versions.get(chip, set())))
            raise t.err("cores", f"{chip} core {v!r} has no release data", f"use one of: {known}")
    port = _port_or_place(t, name, coordinator)
    baud = t.get("baud", int, 115200, example="115200")
    speed = t.get("upload_speed", int, 460800, example="460800")
    for key, value in (("baud", baud), ("upload_speed", speed)):
        if value not in BAUDS:
            raise t.err(
                key, f"{value} is not a rate a USB serial adapter runs", f"use one of {BAUDS}"
            )
    reset = t.get("reset", str, "dtr-rts", example='"dtr-rts"')
    if reset not in RESET_METHODS:
        raise t.err("reset", f"{reset!r}", f"use one of: {', '.join(RESET_METHODS)}")
    if reset == "place-power" and port.kind != "place":
        raise t.err(
            "reset",
            '"place-power" power-cycles a labgrid place, and this board names a port',
            'use reset = "dtr-rts" or "command", or name the board\'s place',
        )
    command = t.get("reset_command", list, [], example='["uhubctl", "-a", "cycle"]')
    if (reset == "command") != bool(command) or not all(isinstance(a, str) for a in command):
        raise t.err(
            "reset_command",
            'needed with reset = "command" (and only then), as a list of strings',
            'write reset = "command" and reset_command = ["program", "arg", ...]',
        )
    simulated = t.get("simulated", bool, False, example="true")
    if simulated and (chip != "esp8266" or not _local_port(port)):
        raise t.err(
            "simulated",
            "only `hil sim-board` is simulated: an esp8266 on a pty, rfc2217://127.0.0.1 "
            "or a place of a coordinator on 127.0.0.1",
            "drop simulated = true for a real board",
        )
    return BenchBoard(name, chip, tuple(cores), port, baud, speed, reset, tuple(command), simulated)


def _local_port(port: PortSpec) -> bool:
    # A place counts when its coordinator is on this machine (a farm rehearsed locally).
    if port.kind == "place":
        return (port.coordinator or "").startswith("127.")
    return port.kind == "path" or port.text.startswith("rfc2217://127.0.0.1:")


def load_bench(path: Path) -> Bench:
    if not path.is_file():
        raise ConfigError(f"bench file {path} does not exist", fix="name an existing TOML file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", fix=f"fix the syntax of {path}"
        ) from None
    top = _Table(path, data, "")
    top.unknown({"bench", "wifi", "board", "labgrid"})
    b = _Table(path, top.get("bench", dict, {}, example="{ ... }"), "bench.")
    b.unknown({"bind", "capture_interface"})
    bind = b.get("bind", str, "127.0.0.1", example='"192.168.1.20"')
    try:
        addr = ipaddress.IPv4Address(bind)
    except ValueError:
        raise b.err(
            "bind", f"{bind!r} is not an IPv4 address", 'write bind = "192.168.1.20"'
        ) from None
    if addr.is_unspecified or addr.is_multicast:
        raise b.err(
            "bind",
            f"{bind} is not one address",
            "give the bench's own LAN address the boards reach",
        )
    iface = b.get("capture_interface", str, "lo", example='"eth0"')
    wifi = None
    if "wifi" in data:
        w = _Table(path, top.get("wifi", dict, example="{ ... }"), "wifi.")
        w.unknown({"ssid_env", "password_env"})
        wifi = WifiSpec(
            w.get("ssid_env", str, example='"HIL_WIFI_SSID"'),
            w.get("password_env", str, example='"HIL_WIFI_PASSWORD"'),
        )
        for key, var in (("ssid_env", wifi.ssid_env), ("password_env", wifi.password_env)):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                raise w.err(key, f"{var!r} is not an environment variable name",
                            "name the variable that holds it, never the value")  # fmt: skip
    coordinator = None
    if "labgrid" in data:
        lg = _Table(path, top.get("labgrid", dict, example="{ ... }"), "labgrid.")
        lg.unknown({"coordinator"})
        coordinator = _coordinator(lg)
    versions: dict[str, set[str]] = {}
    for rel in releases():
        versions.setdefault(rel.family, set()).add(rel.version)
    raw_boards = top.get("board", list, [], example="[[board]] tables")
    boards: dict[str, BenchBoard] = {}
    for i, raw in enumerate(raw_boards):
        board = _board(path, raw, i, versions, coordinator)
        if board.name in boards:
            raise ConfigError(
                f"{path}: key board[{board.name}].name: two boards have this name",
                fix="give each [[board]] its own name",
            )
        boards[board.name] = board
    ports = [b.port.text for b in boards.values()]
    dup = next((p for p in ports if ports.count(p) > 1), None)
    if dup:
        raise ConfigError(
            f"{path}: two boards name the port {dup}", fix="one board per port (or place)"
        )
    return Bench(path, boards, bind, iface, wifi)


def bench_path(option: str | Path | None) -> Path | None:
    """The bench file from an option, else HIL_BENCH; None when neither names one."""
    if option:
        return Path(option)
    env = os.environ.get("HIL_BENCH")
    return Path(env) if env else None
