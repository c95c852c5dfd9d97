"""A checkout (or an install) that cannot be written builds anyway: PlatformIO works on
a copy in the cache. Each firmware is stored once; a run folder refers to it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.model import Outcome
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario

SKETCHES = Path(__file__).resolve().parents[2] / "sketches"


@pytest.fixture
def read_only_sketches(tmp_path: Path):
    """A copy of the sketches, changed by a comment (a new build id: pio really runs),
    then made read-only: a read-only bind mount as root (who ignores file modes),
    else the modes."""
    source = tmp_path / "source"
    shutil.copytree(SKETCHES, source)
    ino = source / "founding_report" / "founding_report.ino"
    ino.write_text(ino.read_text() + f"\n// {secrets.token_hex(8)}\n")
    if os.geteuid() == 0:
        mounted = tmp_path / "ro"
        mounted.mkdir()
        subprocess.run(["mount", "--bind", source, mounted], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", mounted], check=True)
            yield mounted
        finally:
            subprocess.run(["umount", mounted], check=True)
    else:
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        yield source
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


def test_a_read_only_sketches_folder_builds_and_stores_the_firmware_once(
    tmp_path, read_only_sketches
):
    with pytest.raises(OSError):
        (read_only_sketches / "probe").write_text("x")
    before = sorted(p.name for p in read_only_sketches.rglob("*"))
    config = BenchConfig(runs_dir=tmp_path / "runs", sketches_dir=read_only_sketches)
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert "pio not run" not in (record.run_dir / "build.log").read_text()
    assert sorted(p.name for p in read_only_sketches.rglob("*")) == before

    build_id, stored = (record.run_dir / "firmware" / "build-id.txt").read_text().split()
    stored_path = Path(stored)
    assert stored_path == config.cache_dir / "firmware" / build_id / "program"
    flashed = record.run_dir / "twin" / "flash" / "program"
    assert flashed.stat().st_ino == stored_path.stat().st_ino  # a link, not a copy
    big = [p for p in record.run_dir.rglob("*") if p.is_file() and p.stat().st_size > 200_000]
    assert big == [flashed], big
