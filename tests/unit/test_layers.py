"""DESIGN.md's layers, checked by import-linter: a lower layer that imports a higher
one fails here (and so in CI), not in a later reading of the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(exe), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_package_keeps_its_layers() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_leak_breaks_the_contract(tmp_path: Path) -> None:
    # The contract must be able to fail: an analysis module importing an adapter.
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    subprocess.run(["cp", "-r", str(REPO / "harness"), str(copy / "harness")], check=True)
    leak = copy / "harness" / "analysis" / "correlate.py"
    leak.write_text(leak.read_text() + "\nfrom harness.instruments import procs  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "harness.analysis.correlate -> harness.instruments.procs" in result.stdout
