import json
from pathlib import Path

from harness.analysis import matrix_report
from harness.model.matrix import CellOutcome, MatrixCell

CELLS = [
    MatrixCell("s", "twin-esp8266-2.4.2", "p1", CellOutcome.FAILED, cause="no_shared_cipher",
               run_dir=Path("/runs/m/a")),
    MatrixCell("s", "twin-esp8266-3.1.2", "p1", CellOutcome.CONNECTED, run_dir=Path("/runs/m/b")),
    MatrixCell("s", "twin-esp8266-2.4.2", "p2", CellOutcome.ERROR, error="build failed\nline 2",
               run_dir=Path("/runs/m/c")),
    MatrixCell("s", "twin-esp8266-3.1.2", "p2", CellOutcome.NOT_RUN),
]  # fmt: skip


def test_text_table_rows_are_profiles_and_columns_boards():
    text = matrix_report.render_text(CELLS)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("profile"))
    assert header.split() == ["profile", "twin-esp8266-2.4.2", "twin-esp8266-3.1.2"]
    p1 = next(line for line in lines if line.startswith("p1"))
    assert p1.split() == ["p1", "no_shared_cipher", "connected"]
    assert "4 cells: 1 connected, 1 failed, 1 error, 1 not run" in text
    # an error's first line and its run directory, never the whole build log
    assert "error twin-esp8266-2.4.2 x p2: build failed (/runs/m/c)" in text
    assert "line 2" not in text


def test_json_is_one_object_per_cell():
    rows = [json.loads(line) for line in matrix_report.render_json_lines(CELLS).splitlines()]
    assert [r["outcome"] for r in rows] == ["failed", "connected", "error", "not run"]
    assert rows[0]["cause"] == "no_shared_cipher" and rows[0]["connected"] is False
    assert rows[1]["connected"] is True
    assert rows[3]["run_dir"] is None


def test_markdown_table():
    md = matrix_report.render_markdown(CELLS)
    assert "| profile | `twin-esp8266-2.4.2` | `twin-esp8266-3.1.2` |" in md
    assert "| `p1` | ❌ no_shared_cipher | ✅ connected |" in md


def test_html_cells_are_coloured_and_linked_to_timelines():
    page = matrix_report.render_html(CELLS, base=Path("/runs/m"))
    assert page.count("<td ") == 4
    assert 'href="a/timeline.html"' in page and 'href="b/timeline.html"' in page
    for outcome, colour in matrix_report.COLOURS.items():
        assert f'style="background:{colour}" data-outcome="{outcome}"' in page
    assert "<script" not in page
    # a cell without a run directory has no link
    assert page.count("<a href") == 3
