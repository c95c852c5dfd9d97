"""The generated platformio.ini of every core release is accepted by PlatformIO
(`pio project config`); building it needs the PlatformIO registry, not reachable here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.instruments import procs
from harness.instruments.boards.esp_project import debug_flags, env_name, write_esp_project
from harness.instruments.boards.platformio import pio_env, pio_executable
from harness.model.cores import releases

SKETCH = Path(__file__).resolve().parents[2] / "sketches" / "founding_report"


# Every release a real board is made for (arduino-esp32 3.x has no PlatformIO platform).
@pytest.mark.parametrize(
    "core", [c for c in releases() if c.platformio.platform], ids=lambda c: c.id
)
def test_pio_accepts_the_generated_project(core, tmp_path: Path):
    project = write_esp_project(
        tmp_path / "project",
        core,
        src_dir=SKETCH,
        build_dir=tmp_path / "build",
        include_dir=tmp_path / "include",
        port="rfc2217://127.0.0.1:4000",
    )
    result = procs.run(
        [pio_executable(), "project", "config", "-d", project.project_dir, "--json-output"],
        timeout=120,
        env=pio_env(),
    ).check("pio project config", fix="fix the generated platformio.ini")
    assert "Warning" not in result.output, result.output
    config = dict(json.loads(result.output[result.output.index("[") :]))
    env = dict(config[f"env:{env_name(core)}"])
    assert env["platform"] == core.platformio.platform
    assert env["platform_packages"][0].replace(" ", "") == core.platformio.framework_package
    flags = env["build_flags"][1:]
    assert flags[: len(debug_flags(core))] == debug_flags(core)
    # The sketches choose their trust calls by the core's API, as on the twin.
    if core.family == "esp8266":
        assert f"-DHIL_API_setTrustAnchors={int(core.stack == 'bearssl')}" in flags
    else:
        assert "-DHIL_API_setCACert=1" in flags
    assert env["upload_port"] == "rfc2217://127.0.0.1:4000"
