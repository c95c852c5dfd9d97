"""The farm adapter without a coordinator: labgrid stays out of the base install's
imports, a missing labgrid is a clear error, and a place has no port until acquired.
(The coordinator itself: tests/integration/test_farm_labgrid.py.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.instruments.boards import farm, ports
from harness.instruments.boards.bench import BenchBoard, parse_port, place_port
from harness.model.errors import StateError, ToolMissingError

BOARD = BenchBoard("b1", "esp8266", ("3.1.2",), place_port("esp8266-1", "127.0.0.1:20408"))


def test_labgrid_is_imported_only_when_a_place_is_used():
    code = (
        "import sys, harness.cli, harness.instruments.boards.farm, harness.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'labgrid'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_labgrid_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "labgrid.remote", None)  # as if not installed
    with pytest.raises(ToolMissingError, match=r"(?s)labgrid is not installed.*\[farm\]"):
        farm.acquire(BOARD)


def test_a_place_has_no_port_until_acquired():
    with pytest.raises(StateError, match=r"(?s)esp8266-1.*not acquired.*board_session"):
        ports.resolve(BOARD.port, board=BOARD.name)


def test_a_board_with_a_port_passes_through():
    board = BenchBoard("b2", "esp8266", ("3.1.2",), parse_port("/dev/ttyUSB0", "x"))
    with farm.board_session(board) as same:
        assert same is board


def test_a_closed_session_says_so():
    session = farm.CoordinatorSession(BOARD.port, BOARD.name)
    with pytest.raises(StateError, match=r"acquiring in state 'closed'"):
        session.acquire()
