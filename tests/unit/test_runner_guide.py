"""The runner set-up guide and its udev rules agree with the code: the rules cover
exactly the USB serial adapters `hil boards` knows, the guide's table lists them, and
the commands it names exist here."""

from __future__ import annotations

import re
from pathlib import Path

from harness.instruments.boards.ports import ADAPTERS

ROOT = Path(__file__).resolve().parents[2]
RULES = (ROOT / "ci/udev/99-esp-tls-hil.rules").read_text()
GUIDE = (ROOT / "docs/runner-guide.md").read_text()
KNOWN = {f"{vid:04x}:{pid:04x}" for vid, pid in ADAPTERS}


def test_the_udev_rules_cover_the_known_adapters():
    rules = [line for line in RULES.splitlines() if line and not line.startswith("#")]
    found = set()
    for rule in rules:
        m = re.fullmatch(
            r'SUBSYSTEM=="tty", ATTRS\{idVendor\}=="([0-9a-f]{4})", '
            r'ATTRS\{idProduct\}=="([0-9a-f]{4})", GROUP="dialout", MODE="0660", '
            r'ENV\{ID_MM_DEVICE_IGNORE\}="1"',
            rule,
        )
        assert m, rule
        found.add(f"{m[1]}:{m[2]}")
    assert len(rules) == len(found) and found == KNOWN


def test_the_guide_lists_the_adapters_and_what_a_runner_needs():
    table = set(re.findall(r"^\| [^|]+ \| ([0-9a-f]{4}:[0-9a-f]{4}) \|$", GUIDE, re.M))
    assert table == KNOWN
    for needed in (
        "usermod -aG dialout",
        "usermod -aG wireshark",
        "setcap cap_net_raw,cap_net_admin+eip /usr/bin/dumpcap",
        "systemctl disable --now apache2",
        "./svc.sh install",
        "--labels hil,esp8266",
        "labgrid-coordinator -l",
        "labgrid-exporter -c",
        'ci/nightly.sh "$HIL_BENCH" --matrix',
    ):
        assert needed in GUIDE, needed
    for path in re.findall(r"\b((?:ci|scripts|harness)/[\w./-]+\.(?:rules|sh|toml|yml))", GUIDE):
        assert (ROOT / path).is_file(), path


def test_the_guides_farm_bench_file_loads(tmp_path: Path):
    from harness.instruments.boards.bench import load_bench

    (block,) = re.findall(r"```toml\n(.*?)```", GUIDE, re.S)
    path = tmp_path / "bench.toml"
    path.write_text(block.replace("COORDINATOR", "farm.lan"))
    board = load_bench(path).board("farm-esp8266-1")
    assert (board.port.kind, board.port.place) == ("place", "esp8266-1")
    assert board.port.coordinator == "farm.lan:20408"
