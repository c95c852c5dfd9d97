"""`scripts/dev.sh demo --json` prints one JSON document on stdout; every set-up step
(apt, pip, hil setup) talks on stderr."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_json_is_valid_json_on_stdout(tmp_path):
    result = subprocess.run(
        [REPO / "scripts" / "dev.sh", "demo", "--json", "--runs-dir", tmp_path],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)  # nothing else on stdout
    assert record["scenario"] == "founding-report" and record["verdict"] == "pass"
    # The set-up's own words went to stderr (hil setup always says what it found).
    assert "tool-scons" in result.stderr
