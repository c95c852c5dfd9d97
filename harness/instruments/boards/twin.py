"""The host twin as a board: built by PlatformIO with our `hil-twin` dev platform,
"flashed" by installing the binary, reset by restarting it, its Serial a pty.

The pty pair is made before the first reset and kept for the board's life, like
a USB serial port: the monitor opens the slave side with pyserial before the
sketch runs, so not one byte of the boot output is lost, and a reset (a new
process on the same master) keeps the port open.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import time
import tty
from collections.abc import Iterator
from pathlib import Path

from harness.instruments import procs
from harness.instruments.boards import platformio
from harness.instruments.boards.base import Board, BoardSpec, BuildRequest, Firmware
from harness.instruments.boards.twin_config import (
    PERSONALITY_DIRS,
    board_manifest,
    core_config_header,
)
from harness.model.errors import DeadlineError, StateError

log = logging.getLogger(__name__)
# Long steps a person waits for: the CLI shows this logger on stderr even when quiet.
progress = logging.getLogger("harness.progress")

TWIN_DIR = Path(__file__).resolve().parents[2] / "twin"
PLATFORM_DIR = TWIN_DIR / "platform"
CORE_DIR = TWIN_DIR / "core"
COMMON_DIR = CORE_DIR / "common"
SCENARIO_HEADER = "hil_scenario.h"
CORE_CONFIG_HEADER = "hil_core_config.h"


def _tree_digest(h: hashlib._Hash, root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())


@contextlib.contextmanager
def _locked(path: Path, deadline: float) -> Iterator[None]:
    """One build at a time per build dir (parallel test workers share the cache); the
    wait for another worker's build ends at `deadline` (time.monotonic())."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeadlineError(
                        f"the build folder {path.parent} stayed locked by another build",
                        fix="another hil or pytest worker is building there; wait for it "
                        "or give the run more time",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class TwinBoard(Board):
    def __init__(self, spec: BoardSpec, *, cache_dir: Path, run_dir: Path) -> None:
        self.spec = spec
        self.cache_dir = cache_dir
        self.run_dir = run_dir
        self._master: int | None = None
        self._slave: int | None = None
        self._port = ""
        self._proc: procs.ManagedProcess | None = None
        self._flashed: Path | None = None
        if spec.core is None:
            raise StateError(
                f"twin board {spec.name} has no core release data",
                fix="build it from harness/model/cores",
            )
        self._config_header = core_config_header(spec.core)
        self._manifest = (
            json.dumps(board_manifest(spec.core, spec.pio_board, spec.description), indent=2) + "\n"
        )
        self._personality_dir = CORE_DIR / PERSONALITY_DIRS[spec.personality]
        self._open_pty()

    def __repr__(self) -> str:
        return f"<TwinBoard {self.spec.name} port={self._port}>"

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        # Raw before anything is written: a cooked pty would echo the twin's output back
        # into its own Serial input and turn \n into \r\n.
        tty.setraw(self._slave)
        self._port = os.ttyname(self._slave)

    @property
    def serial_port(self) -> str:
        return self._port

    # -- build and flash -------------------------------------------------------------------

    def build(self, request: BuildRequest, *, log_path: Path) -> Firmware:
        sketch = request.sketch_dir.resolve()
        work = self.cache_dir / "twin" / self.spec.name / sketch.name
        include = work / "include"
        deadline = time.monotonic() + (request.timeout or platformio.BUILD_TIMEOUT)
        with _locked(work / ".lock", deadline):
            build_id = self._build_id(request)
            program = work / "build" / self.spec.pio_board / "program"
            stamp = program.with_name("program.build-id")
            if program.is_file() and stamp.is_file() and stamp.read_text() == build_id:
                # Every input is in the build id: the binary in the cache is this build.
                with log_path.open("a") as f:
                    f.write(f"twin build {build_id}: up to date in {program}, pio not run\n")
                return self._export(program, include, build_id, built=False)
            kept = work / "by-id" / build_id
            if (kept / "program").is_file():
                # Built before for another server (hil matrix alternates profiles per board).
                with log_path.open("a") as f:
                    f.write(f"twin build {build_id}: kept in {kept}, pio not run\n")
                return self._export(kept / "program", kept, build_id, built=False)
            include.mkdir(parents=True, exist_ok=True)
            # PlatformIO turns the .ino into a .ino.cpp beside it: build a private copy, so
            # two boards building one sketch at once (hil matrix) never share that file,
            # and a read-only checkout or installed sketches folder still builds.
            src = _mirror(sketch, work / "src")
            for name, data in request.extra_headers.items():
                _write_if_changed(include / name, data)
            header = f'#define HIL_BUILD_ID "{build_id}"\n' + request.scenario_header
            _write_if_changed(include / SCENARIO_HEADER, header.encode())
            # The core's own inputs, made from the release data: the board manifest and
            # the generated core configuration (outside `include`, so a scenario header
            # change never touches the core's command line).
            config_dir = work / "core-config"
            config_dir.mkdir(parents=True, exist_ok=True)
            _write_if_changed(config_dir / CORE_CONFIG_HEADER, self._config_header.encode())
            boards_dir = work / "boards"
            boards_dir.mkdir(parents=True, exist_ok=True)
            _write_if_changed(boards_dir / f"{self.spec.pio_board}.json", self._manifest.encode())
            project = platformio.write_project(
                work / "project",
                env_name=self.spec.pio_board,
                src_dir=src,
                build_dir=work / "build",
                platform=f"symlink://{PLATFORM_DIR}",
                board=self.spec.pio_board,
                # A stable include path: a path that changed per run would change every
                # compile command and rebuild the whole core each time.
                build_flags=[f"-I{include}"],
                boards_dir=boards_dir,
                options={"custom_hil_core_config": str(config_dir)},
            )
            stamp.unlink(missing_ok=True)
            progress.info(
                "building %s for %s with PlatformIO (the first build of a sketch takes about "
                "a minute; the log: %s)",
                sketch.name,
                self.spec.name,
                log_path,
            )
            started = time.monotonic()
            platformio.build(
                project,
                log_path=log_path,
                platforms_dir=work / "platforms",
                timeout=max(deadline - time.monotonic(), 1.0),
            )
            progress.info("built %s in %.0f s", sketch.name, time.monotonic() - started)
            stamp.write_text(build_id)
            _keep(project.program, include / SCENARIO_HEADER, work / "by-id", build_id)
            return self._export(project.program, include, build_id, built=True)

    def _export(self, program: Path, include: Path, build_id: str, *, built: bool) -> Firmware:
        """Put the binary in the firmware store, once per build id (the caller holds the
        build lock); the run directory gets a reference to it, not a copy."""
        stored = store_firmware(self.cache_dir, program, build_id)
        record = self.run_dir / "firmware"
        record.mkdir(parents=True, exist_ok=True)
        shutil.copy2(include / SCENARIO_HEADER, record)
        (record / "build-id.txt").write_text(f"{build_id}\n{stored}\n")
        return Firmware(build_id=build_id, path=stored, built=built)

    def _build_id(self, request: BuildRequest) -> str:
        h = hashlib.sha256()
        h.update(self.spec.name.encode())
        _tree_digest(h, request.sketch_dir)
        _tree_digest(h, PLATFORM_DIR)
        _tree_digest(h, COMMON_DIR)
        _tree_digest(h, self._personality_dir)
        h.update(self._config_header.encode())
        h.update(self._manifest.encode())
        h.update(request.scenario_header.encode())
        for name in sorted(request.extra_headers):
            h.update(name.encode())
            h.update(request.extra_headers[name])
        return h.hexdigest()[:12]

    def flash(self, firmware: Firmware, *, log_path: Path) -> bool:
        """Install the build in the twin's own place: a hard link to the stored binary
        (no copy, and the store may be cleaned while the twin runs); a copy only when the
        run directory is on another file system."""
        target = self.run_dir / "twin" / "flash" / "program"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        try:
            os.link(firmware.path, tmp)
        except OSError:
            shutil.copy2(firmware.path, tmp)
        os.replace(tmp, target)
        self._flashed = target
        with log_path.open("a") as f:
            f.write(f"twin flash: installed build {firmware.build_id} at {target}\n")
        return True

    # -- run -------------------------------------------------------------------------------

    def reset(self, monitor: object = None) -> None:
        """Restart the program on the same pty (the monitor keeps reading it)."""
        if self._flashed is None:
            raise StateError(
                f"{self!r}.reset() before flash(): no firmware installed",
                fix="build and flash a sketch first",
            )
        if self._master is None:
            raise StateError(f"{self!r}.reset() after close()")
        self.halt()
        self._proc = procs.ManagedProcess(
            f"twin {self.spec.name}", [self._flashed], log_path=self.run_dir / "twin.log"
        )
        self._proc.start(env={"HIL_SERIAL_FD": str(self._master)}, pass_fds=[self._master])

    def halt(self) -> None:
        if self._proc is not None:
            self._proc.stop(sig=signal.SIGTERM, grace=2.0)

    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def close(self) -> None:
        self.halt()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None


def store_firmware(cache_dir: Path, program: Path, build_id: str) -> Path:
    """The firmware store: `<cache>/firmware/<build id>/program`, written once per build
    id (the id covers every input of the build, so the same id is the same binary)."""
    stored = cache_dir / "firmware" / build_id / "program"
    if not stored.is_file():
        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_name(f".program.{os.getpid()}")
        shutil.copy2(program, tmp)
        os.replace(tmp, stored)
    return stored


def _mirror(source: Path, target: Path) -> Path:
    """Make `target` hold the files of `source`, touching only what changed (SCons
    rebuilds what has a new stamp), and dropping what `source` no longer has."""
    wanted = {p.relative_to(source) for p in source.rglob("*") if p.is_file()}
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            rel = path.relative_to(target)
            if path.is_file() and rel not in wanted:
                path.unlink()
    for rel in sorted(wanted):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        _write_if_changed(target / rel, (source / rel).read_bytes())
    return target


# Per board and sketch; the oldest go first. A matrix column builds one firmware per cell
# (the server port is compiled in) and walks them in the same order every time: with
# fewer slots than a column has cells, least-recently-used eviction throws out each build
# just before it is needed again (with 24 slots, a 29-profile matrix rebuilt every cell
# on every run). 1.5 MB each.
KEPT_BUILDS = 96


def _keep(program: Path, header: Path, folder: Path, build_id: str) -> None:
    """Keep this build's binary by its id, so going back to an earlier input needs no pio."""
    kept = folder / build_id
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copy2(header, kept / SCENARIO_HEADER)
    shutil.copy2(program, kept / "program.tmp")
    (kept / "program.tmp").replace(kept / "program")  # whole or absent, never half
    builds = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for old in builds[:-KEPT_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)


def _write_if_changed(path: Path, data: bytes) -> None:
    # Keep the stamp when nothing changed, so SCons has nothing to recompile.
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
