"""A real ESP8266/ESP32 on a bench: built by PlatformIO for its core release, flashed
by esptool only when its running build differs, reset by DTR/RTS or a command.

Builds need the PlatformIO registry (platform-espressif8266/32 and their toolchains);
where it cannot be reached the build fails with PlatformIO's own message.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from harness.instruments.boards import platformio
from harness.instruments.boards.base import Board, BoardSpec, BuildRequest, Firmware
from harness.instruments.boards.bench import BenchBoard
from harness.instruments.boards.esp_project import debug_flags, env_name, write_esp_project
from harness.instruments.boards.flasher import flash_if_needed, read_boot
from harness.instruments.boards.ports import resolve
from harness.model.errors import ConfigError, StateError

SCENARIO_HEADER = "hil_scenario.h"


class EspBoard(Board):
    def __init__(
        self,
        spec: BoardSpec,
        *,
        cache_dir: Path,
        run_dir: Path,
        bench_board: BenchBoard | None = None,
    ) -> None:
        if spec.core is None:
            raise StateError(f"board {spec.name} has no core release data")
        self.spec = spec
        self.core = spec.core
        self.cache_dir = cache_dir
        self.run_dir = run_dir
        self.bench_board = bench_board

    def __repr__(self) -> str:
        where = self.bench_board.port.text if self.bench_board else "no bench"
        return f"<EspBoard {self.spec.name} {where}>"

    def _bench(self, method: str) -> BenchBoard:
        if self.bench_board is None:
            raise ConfigError(
                f"{self!r}.{method}(): a real board needs a bench file entry",
                fix="name a bench file (--hil-bench, hil_bench or HIL_BENCH) with this board",
            )
        return self.bench_board

    @property
    def serial_port(self) -> str:
        bench = self._bench("serial_port")
        return resolve(bench.port, board=bench.name)

    def project_dir(self, sketch_dir: Path) -> Path:
        """The generated project: in the cache, per sketch, board and defines."""
        return self.cache_dir / "esp" / self.spec.name / sketch_dir.resolve().name

    def build(self, request: BuildRequest, *, log_path: Path) -> Firmware:
        work = self.project_dir(request.sketch_dir)
        include = work / "include"
        include.mkdir(parents=True, exist_ok=True)
        build_id = self._build_id(request)
        for name, data in request.extra_headers.items():
            (include / name).write_bytes(data)
        (include / SCENARIO_HEADER).write_text(
            f'#define HIL_BUILD_ID "{build_id}"\n' + request.scenario_header
        )
        bench = self.bench_board
        project = write_esp_project(
            work / "project",
            self.core,
            src_dir=request.sketch_dir.resolve(),
            build_dir=work / "build",
            include_dir=include,
            port=resolve(bench.port, board=bench.name) if bench else "",
            upload_speed=bench.upload_speed if bench else 460800,
            monitor_speed=bench.baud if bench else 115200,
        )
        platformio.build(project, log_path=log_path)
        out = self.run_dir / "firmware" / "firmware.bin"
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project.build_dir / project.env_name / "firmware.bin", out)
        return Firmware(build_id=build_id, path=out, built=True)

    def _build_id(self, request: BuildRequest) -> str:
        h = hashlib.sha256()
        for part in (self.spec.name, env_name(self.core), *debug_flags(self.core)):
            h.update(part.encode())
        for path in sorted(p for p in request.sketch_dir.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(request.sketch_dir)).encode())
            h.update(path.read_bytes())
        h.update(request.scenario_header.encode())
        for name in sorted(request.extra_headers):
            h.update(name.encode() + request.extra_headers[name])
        return h.hexdigest()[:12]

    def flash(self, firmware: Firmware, *, log_path: Path) -> bool:
        result = flash_if_needed(
            self._bench("flash"), firmware.path, log_path=log_path, build_id=firmware.build_id
        )
        return result.uploaded

    def reset(self) -> None:
        """Reset by the bench's method through a short-lived handle on the port; what the
        board prints goes to whoever opens the port next (a reader opened meanwhile
        holds the port, so the runner's reset through its reader is still to do)."""
        bench = self._bench("reset")
        read_boot(self.serial_port, bench, timeout=0)

    def halt(self) -> None:
        """A real board keeps running; nothing to stop."""

    def close(self) -> None:
        """Nothing held between calls: each step opens and releases the port."""
