"""Render a matrix of runs (profiles x boards, per sketch): terminal text, Markdown, HTML,
JSON lines. Pure functions over MatrixCell records; no I/O."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

from harness.model.matrix import CellOutcome, MatrixCell

# Colours by outcome (HTML); the text forms carry the same information in words.
COLOURS = {
    CellOutcome.CONNECTED: "#c8e6c9",
    CellOutcome.FAILED: "#ffcdd2",
    CellOutcome.ERROR: "#ffe0b2",
    CellOutcome.NOT_RUN: "#eeeeee",
}


def cell_label(cell: MatrixCell) -> str:
    """One short word or two: `connected`, the failure's cause, `error`, `not run`."""
    if cell.outcome is CellOutcome.FAILED:
        return cell.cause or "failed"
    return str(cell.outcome)


def _axes(cells: Sequence[MatrixCell]) -> tuple[list[str], list[str], list[str]]:
    """Sketches, boards and profiles in first-seen order (the order they were asked for)."""

    def ordered(values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))

    return (
        ordered([c.sketch for c in cells]),
        ordered([c.board for c in cells]),
        ordered([c.profile for c in cells]),
    )


def _grid(cells: Sequence[MatrixCell]) -> dict[tuple[str, str, str], MatrixCell]:
    return {c.key: c for c in cells}


def render_text(cells: Sequence[MatrixCell]) -> str:
    """A fixed-width table per sketch: profiles down, boards across."""
    sketches, boards, profiles = _axes(cells)
    grid = _grid(cells)
    out: list[str] = []
    for sketch in sketches:
        rows = [["profile", *boards]]
        for profile in profiles:
            rows.append(
                [profile]
                + [
                    cell_label(grid[(sketch, b, profile)]) if (sketch, b, profile) in grid else ""
                    for b in boards
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out.append(f"sketch {sketch}:")
        for n, row in enumerate(rows):
            out.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append("")
    out.append(summary_line(cells))
    errors = [c for c in cells if c.outcome is CellOutcome.ERROR]
    for c in errors:
        first = c.error.splitlines()[0] if c.error else "error"
        out.append(f"error {c.board} x {c.profile}: {first} ({c.run_dir or 'no run dir'})")
    return "\n".join(out) + "\n"


def summary_line(cells: Sequence[MatrixCell]) -> str:
    counts = {o: sum(c.outcome is o for c in cells) for o in CellOutcome}
    parts = [f"{n} {o}" for o, n in counts.items() if n]
    return f"{len(cells)} cells: " + ", ".join(parts)


def render_markdown(cells: Sequence[MatrixCell]) -> str:
    sketches, boards, profiles = _axes(cells)
    grid = _grid(cells)
    out: list[str] = []
    for sketch in sketches:
        out += [f"### sketch `{sketch}`", ""]
        out.append("| profile | " + " | ".join(f"`{b}`" for b in boards) + " |")
        out.append("|---" * (len(boards) + 1) + "|")
        for profile in profiles:
            labels = []
            for b in boards:
                cell = grid.get((sketch, b, profile))
                labels.append(_md_label(cell) if cell else "")
            out.append(f"| `{profile}` | " + " | ".join(labels) + " |")
        out.append("")
    out.append(summary_line(cells))
    return "\n".join(out) + "\n"


def _md_label(cell: MatrixCell) -> str:
    mark = {
        CellOutcome.CONNECTED: "✅",
        CellOutcome.FAILED: "❌",
        CellOutcome.ERROR: "⚠️",
        CellOutcome.NOT_RUN: "·",
    }[cell.outcome]
    return f"{mark} {cell_label(cell)}"


def render_html(cells: Sequence[MatrixCell], *, base: Path | None = None) -> str:
    """A table per sketch, profiles x boards, each cell coloured by outcome and linked to its
    run's timeline.html (relative to `base`, the directory the HTML is written to)."""
    sketches, boards, profiles = _axes(cells)
    grid = _grid(cells)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>hil matrix</title>',
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #999;padding:4px 8px;text-align:left}"
        "td a{color:inherit}</style></head><body>",
        "<h1>hil matrix</h1>",
        f"<p>{html.escape(summary_line(cells))}</p>",
    ]
    for sketch in sketches:
        parts.append(f"<h2>sketch {html.escape(sketch)}</h2><table>")
        parts.append(
            "<tr><th>profile</th>" + "".join(f"<th>{html.escape(b)}</th>" for b in boards) + "</tr>"
        )
        for profile in profiles:
            row = [f"<tr><th>{html.escape(profile)}</th>"]
            for b in boards:
                cell = grid.get((sketch, b, profile))
                row.append(_html_cell(cell, base) if cell else "<td></td>")
            parts.append("".join(row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_cell(cell: MatrixCell, base: Path | None) -> str:
    label = html.escape(cell_label(cell))
    title = html.escape(cell.error or cell.cause or str(cell.outcome), quote=True)
    style = f'style="background:{COLOURS[cell.outcome]}"'
    data = f'data-outcome="{html.escape(str(cell.outcome))}"'
    if cell.run_dir is None:
        return f'<td {style} {data} title="{title}">{label}</td>'
    target = cell.run_dir / "timeline.html"
    href = os.path.relpath(target, base) if base is not None else str(target)
    return (
        f'<td {style} {data} title="{title}">'
        f'<a href="{html.escape(href, quote=True)}">{label}</a></td>'
    )


def render_json_lines(cells: Sequence[MatrixCell]) -> str:
    """One JSON object per cell, one per line."""
    return "".join(json.dumps(c.to_json()) + "\n" for c in cells)
