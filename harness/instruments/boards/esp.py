"""A real ESP8266/ESP32 on a bench: built by PlatformIO for its core release, flashed
by esptool only when its running build differs, reset by DTR/RTS or a command.

Builds need the PlatformIO registry (platform-espressif8266/32 and their toolchains);
where it cannot be reached the build fails with PlatformIO's own message.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path

from harness.instruments import procs
from harness.instruments.boards import locks, platformio
from harness.instruments.boards.base import Board, BoardSpec, BuildRequest, Firmware
from harness.instruments.boards.bench import BenchBoard
from harness.instruments.boards.esp_project import debug_flags, env_name, write_esp_project
from harness.instruments.boards.flasher import check_running, flash_if_needed, reset_through
from harness.instruments.boards.ports import resolve
from harness.instruments.boards.sim.image import twin_firmware
from harness.instruments.serial_monitor import SerialMonitor
from harness.model.errors import ConfigError, StateError

SCENARIO_HEADER = "hil_scenario.h"


class EspBoard(Board):
    """A bench board of this kind. The port lock is taken at the first step that touches
    the port and held until close(), so no other process touches the board in between
    (the flash, the reset and the run of one scenario)."""

    def __init__(
        self,
        spec: BoardSpec,
        *,
        cache_dir: Path,
        run_dir: Path,
        bench_board: BenchBoard | None = None,
        skip_flash: bool = False,
        twin: Board | None = None,
    ) -> None:
        if spec.core is None:
            raise StateError(f"board {spec.name} has no core release data")
        self.spec = spec
        self.core = spec.core
        self.cache_dir = cache_dir
        self.run_dir = run_dir
        self.bench_board = bench_board
        self.skip_flash = skip_flash
        # A simulated bench board (hil sim-board) runs the twin of the same core: its
        # firmware is that twin's build, carried in an ESP8266 image (sim/image.py).
        self.twin = twin
        self._held = contextlib.ExitStack()
        self._locked = False

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

    def _claim(self, method: str) -> BenchBoard:
        bench = self._bench(method)
        if not self._locked:
            self._held.enter_context(locks.port_lock(self.serial_port))
            self._locked = True
        return bench

    @property
    def serial_port(self) -> str:
        bench = self._bench("serial_port")
        return resolve(bench.port, board=bench.name)

    def project_dir(self, sketch_dir: Path) -> Path:
        """The generated project: in the cache, per sketch, board and defines."""
        return self.cache_dir / "esp" / self.spec.name / sketch_dir.resolve().name

    def build(self, request: BuildRequest, *, log_path: Path) -> Firmware:
        if self.twin is not None:
            return self._build_for_simulator(request, log_path)
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

    def _build_for_simulator(self, request: BuildRequest, log_path: Path) -> Firmware:
        """The twin of this core built from the request (PlatformIO, hil-twin), wrapped
        in the ESP8266 image the simulated board runs: same build id, same sketch."""
        assert self.twin is not None
        twin = self.twin.build(request, log_path=log_path)
        out = self.run_dir / "firmware" / "firmware.bin"
        out.parent.mkdir(parents=True, exist_ok=True)
        # Stripped (binutils): a twin is ~1.8 MB with its symbols, ~0.1 MB without, and
        # the upload to the simulator, like a real one, takes time by the byte.
        program = out.with_name("twin-program")
        procs.run(
            ["strip", "-o", str(program), str(twin.path)],
            timeout=60,
            log_path=log_path,
            append_log=True,
        ).check(f"strip of the twin program {twin.path}", fix="install binutils")
        out.write_bytes(twin_firmware(twin.build_id, program.read_bytes()))
        out.with_name("build-id.txt").write_text(f"{twin.build_id}\n{out}\n")
        return Firmware(build_id=twin.build_id, path=out, built=twin.built)

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
        """Upload only when the board runs another build; with skip_flash, only check."""
        bench = self._claim("flash")
        if self.skip_flash:
            check_running(bench, firmware.build_id, log_path=log_path, take_lock=False)
            return False
        result = flash_if_needed(
            bench, firmware.path, log_path=log_path, build_id=firmware.build_id, take_lock=False
        )
        return result.uploaded

    def reset(self, monitor: SerialMonitor | None = None) -> None:
        """Reset by the bench's method through `monitor`, the reader that owns the port,
        so every byte of the boot reaches its log."""
        bench = self._claim("reset")
        if monitor is None:
            raise StateError(
                f"{self!r}.reset() without the serial reader",
                fix="open a SerialMonitor on board.serial_port and pass it: a real "
                "board's reset goes through the reader that owns its port",
            )
        reset_through(monitor, bench, log_path=self.run_dir / "reset.log")

    def halt(self) -> None:
        """A real board keeps running; nothing to stop."""

    def close(self) -> None:
        """Release the port lock and the twin that builds a simulator's firmware; safe
        to repeat."""
        self._held.close()
        self._locked = False
        if self.twin is not None:
            self.twin.close()
