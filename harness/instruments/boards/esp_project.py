"""PlatformIO projects for real ESP boards, made from the core release data.

One environment per chip and core version (the same versions as the twin
personalities): the release's `platform-espressif8266/32` version and framework
package (harness/model/cores/*.toml, each with its source), a stock board, and the
debug flags of the Arduino IDE menus a bug report is usually built with:
- ESP8266, "Debug port: Serial" + "Debug level: SSL": `-DDEBUG_ESP_PORT=Serial`
  `-DDEBUG_ESP_SSL` (esp8266/Arduino tools/boards.txt.py, all_debug(): each level
  adds `-DDEBUG_ESP_<level>`; the port menu sets `-DDEBUG_ESP_PORT=<port>`);
- ESP32, "Core Debug Level": `-DCORE_DEBUG_LEVEL=<0..5>` (arduino-esp32 platform.txt,
  `-DCORE_DEBUG_LEVEL={build.code_debug}`; boards.txt menu.DebugLevel none..verbose).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.instruments.boards import platformio
from harness.instruments.boards.twin_config import api_flags
from harness.model.cores import CoreRelease
from harness.model.errors import ConfigError

ESP32_DEBUG_LEVELS = {"none": 0, "error": 1, "warn": 2, "info": 3, "debug": 4, "verbose": 5}

# The stock PlatformIO board of each family: a module with the USB-serial auto-reset
# circuit, 4 MB of flash.
PIO_BOARDS = {"esp8266": "nodemcuv2", "esp32": "esp32dev"}


def _esp8266_debug(level: str) -> list[str]:
    return ["-DDEBUG_ESP_PORT=Serial", f"-DDEBUG_ESP_{level.upper()}"]


def _esp32_debug(level: str) -> list[str]:
    if level not in ESP32_DEBUG_LEVELS:
        raise ConfigError(
            f"unknown arduino-esp32 debug level {level!r}",
            fix=f"set [log] level to one of {', '.join(ESP32_DEBUG_LEVELS)} in the core file",
        )
    return [f"-DCORE_DEBUG_LEVEL={ESP32_DEBUG_LEVELS[level]}"]


DEBUG_FLAGS: dict[str, Callable[[str], list[str]]] = {
    "esp8266": _esp8266_debug,
    "esp32": _esp32_debug,
}


def debug_flags(core: CoreRelease) -> list[str]:
    return DEBUG_FLAGS[core.family](core.log.level)


def env_name(core: CoreRelease) -> str:
    """PlatformIO environment names: letters, digits, '_' and '-'."""
    return f"esp-{core.family}-{core.version.replace('.', '_')}"


def framework_package(core: CoreRelease) -> str:
    """platform_packages wants `owner/name @ spec`."""
    name, _, spec = core.platformio.framework_package.partition("@")
    return f"{name} @ {spec}" if spec else name


def write_esp_project(
    project_dir: Path,
    core: CoreRelease,
    *,
    src_dir: Path,
    build_dir: Path,
    include_dir: Path,
    port: str = "",
    upload_speed: int = 460800,
    monitor_speed: int = 115200,
    extra_flags: tuple[str, ...] = (),
) -> platformio.PioProject:
    options = {
        "platform_packages": framework_package(core),
        "monitor_speed": str(monitor_speed),
        "upload_speed": str(upload_speed),
        "board_build.flash_mode": "dio",
    }
    if port:
        options["upload_port"] = port
        options["monitor_port"] = port
    if core.family == "esp8266":
        options["upload_resetmethod"] = "nodemcu"
    return platformio.write_project(
        project_dir,
        env_name=env_name(core),
        src_dir=src_dir,
        build_dir=build_dir,
        platform=core.platformio.platform,
        board=PIO_BOARDS[core.family],
        build_flags=[f"-I{include_dir}", *debug_flags(core), *api_flags(core), *extra_flags],
        options=options,
    )
