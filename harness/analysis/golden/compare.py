"""Compare a run with a golden recording (pure): records, TCP flags, Serial lines.

The golden is what a real board did; the run must do the same, after masking
(`masks.py`). Every difference names what differs, where, both values and the
masks applied; whether a difference is known is decided later (`known.py`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial

from harness.analysis.golden.capture import Connection, TlsRecord, WireRecording
from harness.analysis.golden.masks import DATE_WHY, FRAMING, PORT_WHY, SERIAL_START, TEXT_MASKS
from harness.analysis.golden.records import Item, RecordView, view
from harness.analysis.golden.report import Difference, GoldenReport
from harness.analysis.golden.serial import MaskedLine, dates_match, mask_line, mask_text


@dataclass(frozen=True)
class Recording:
    """One side of the comparison: what a board wrote and printed in one run."""

    wire: WireRecording
    serial: tuple[str, ...]  # the lines, without their time stamps
    server_port: int
    day: date | None = None  # UTC day it was recorded (certificate dates move with it)


def compare(
    expected: Recording, got: Recording, *, golden: str = "", run: str = ""
) -> GoldenReport:
    diffs: list[Difference] = []
    notes: list[str] = []
    diffs += _compare_wire(expected.wire, got.wire, expected.server_port, got.server_port, notes)
    serial_diffs, serial_count = _compare_serial(expected, got, notes)
    diffs += serial_diffs
    compared = {
        "connections": min(len(expected.wire.connections), len(got.wire.connections)),
        "client records": sum(
            min(len(a.records), len(b.records))
            for a, b in zip(expected.wire.connections, got.wire.connections, strict=False)
        ),
        "serial lines": serial_count,
    }
    return GoldenReport(golden, run, tuple(diffs), compared, tuple(notes))


# -- the wire ----------------------------------------------------------------------------------


def _compare_wire(
    exp: WireRecording, got: WireRecording, exp_port: int, got_port: int, notes: list[str]
) -> list[Difference]:
    diffs: list[Difference] = []
    for name, rec in (("golden", exp), ("run", got)):
        if rec.empty_streams:
            notes.append(
                f"{name}: {len(rec.empty_streams)} connection(s) in which the client wrote "
                "nothing (a probe) not compared"
            )
    if len(exp.connections) != len(got.connections):
        diffs.append(
            Difference(
                "connections.count",
                "a different number of connections in which the client wrote",
                "capture",
                str(len(exp.connections)),
                str(len(got.connections)),
            )
        )
    for i, (a, b) in enumerate(zip(exp.connections, got.connections, strict=False)):
        where = f"connection {i + 1}"
        for name, conn in (("golden", a), ("run", b)):
            if not conn.decrypted:
                notes.append(f"{name}, {where}: not every sealed record could be decrypted")
            if conn.trailing:
                notes.append(f"{name}, {where}: {len(conn.trailing)} bytes after the last record")
        diffs += _compare_records(a, b, where, exp_port, got_port)
        # Each side's flags in its own order: how a client FIN and a server FIN sent at
        # the same moment interleave is a race, not a behaviour.
        for side in ("client", "server"):
            if _flags(a, side) != _flags(b, side):
                diffs.append(
                    Difference(
                        f"tcp.{side}_flags",
                        f"the TCP flags (SYN, FIN, RST) the {side} sent differ",
                        where,
                        _flags(a, side),
                        _flags(b, side),
                        "ports, sequence numbers, TCP options and the interleaving of the "
                        "two sides are not compared",
                    )
                )
    return diffs


def _flags(conn: Connection, side: str) -> str:
    return ", ".join(flag for who, flag in conn.flags if who == side)


def _text_mask(port: int) -> Callable[[str], str]:
    return lambda text: mask_text(text, port)[0]


def _compare_records(
    a: Connection, b: Connection, where: str, a_port: int, b_port: int
) -> list[Difference]:
    """Records lined up by kind (one record more or less does not shift the rest),
    then each pair compared item by item."""
    ra, rb = list(a.records), list(b.records)
    # Lined up by what is visible without keys; plaintexts compared where both have theirs.
    va = [view(replace(r, plaintext=None), _text_mask(a_port)) for r in ra]
    vb = [view(replace(r, plaintext=None), _text_mask(b_port)) for r in rb]
    diffs: list[Difference] = []
    matcher = difflib.SequenceMatcher(
        a=[v.kind for v in va], b=[v.kind for v in vb], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                x, y = va[i], vb[j]
                if ra[i].plaintext is not None and rb[j].plaintext is not None:
                    x, y = view(ra[i], _text_mask(a_port)), view(rb[j], _text_mask(b_port))
                if x.kind != y.kind:
                    diffs.append(
                        Difference(
                            "record.kind",
                            "a different record at this place",
                            f"{where}, client record {j}",
                            _summary(ra[i], x),
                            _summary(rb[j], y),
                        )
                    )
                    continue
                diffs += _compare_items(x, y, f"{where}, client record {j} ({x.kind})")
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for i, j in zip(range(i1, i1 + pairs), range(j1, j1 + pairs), strict=True):
            diffs.append(
                Difference(
                    "record.kind",
                    "a different record at this place",
                    f"{where}, client record {j}",
                    _summary(ra[i], va[i]),
                    _summary(rb[j], vb[j]),
                )
            )
        for i in range(i1 + pairs, i2):
            diffs.append(
                Difference(
                    "record.missing",
                    "a record the golden has and the run has not",
                    f"{where}, golden client record {i} ({va[i].kind})",
                    _summary(ra[i], va[i]),
                    "(none)",
                )
            )
        for j in range(j1 + pairs, j2):
            diffs.append(
                Difference(
                    "record.extra",
                    "a record the run wrote and the golden has not",
                    f"{where}, client record {j} ({vb[j].kind})",
                    "(none)",
                    _summary(rb[j], vb[j]),
                )
            )
    return diffs


def _summary(record: TlsRecord, v: RecordView) -> str:
    length = len(record.body)
    alert = next((i.value for i in v.items if i.key == "alert"), "")
    return f"{v.kind} {alert}, {length} bytes" if alert else f"{v.kind}, {length} bytes"


def _compare_items(va: RecordView, vb: RecordView, where: str) -> list[Difference]:
    ia = {i.key: i for i in va.items}
    ib = {i.key: i for i in vb.items}
    keys = list(ia) + [k for k in ib if k not in ia]
    out = []
    for key in keys:
        x, y = ia.get(key), ib.get(key)
        if key.startswith("client_hello.ext.") and (x is None or y is None):
            continue  # an extension on one side only shows in client_hello.extensions
        if x is not None and y is not None and x.value == y.value:
            continue
        out.append(_item_difference(va.kind, key, x, y, where))
    # A length follows from the content; it is news only when nothing else differs.
    if len(out) > 1:
        out = [d for d in out if not d.id.endswith(".length")]
    return out


def _item_difference(kind: str, key: str, x: Item | None, y: Item | None, where: str) -> Difference:
    ident = key if key.startswith(f"{kind}.") else f"{kind}.{key}"
    masking = "; ".join(sorted({i.masking for i in (x, y) if i is not None and i.masking}))
    return Difference(
        ident,
        f"{key.split('.')[-1].replace('_', ' ')} of the {kind} record differs",
        where,
        x.value if x else "(absent)",
        y.value if y else "(absent)",
        masking,
    )


# -- Serial ------------------------------------------------------------------------------------


def _from_start(lines: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    for i, line in enumerate(lines):
        if SERIAL_START.pattern.search(line):
            return i, lines[i:]
    return 0, lines


def _compare_serial(
    expected: Recording, got: Recording, notes: list[str]
) -> tuple[list[Difference], int]:
    a0, a_lines = _from_start(expected.serial)
    b0, b_lines = _from_start(got.serial)
    if any(line.strip() for line in expected.serial[:a0] + got.serial[:b0]):
        notes.append(f"serial lines before HIL:BOOT not compared: {SERIAL_START.why}")
    ma = [mask_line(line, expected.server_port) for line in a_lines]
    mb = [mask_line(line, got.server_port) for line in b_lines]
    # Lines keep their numbers in the file: (index, masked line) pairs.
    ia, ib = list(enumerate(ma)), list(enumerate(mb))
    if not any(FRAMING.pattern.search(line) for line in a_lines):
        kept = [(j, m) for j, m in ib if not FRAMING.pattern.search(b_lines[j])]
        if len(kept) < len(ib):
            notes.append(f"the run's HIL:BOOT/HIL:DONE lines not compared: {FRAMING.why}")
        ib = kept
    ka, kb = [i for i, _ in ia], [j for j, _ in ib]
    ma, mb = [m for _, m in ia], [m for _, m in ib]
    shift = (got.day - expected.day).days if expected.day and got.day else 0
    diffs: list[Difference] = []
    matcher = difflib.SequenceMatcher(
        a=[m.text for m in ma], b=[m.text for m in mb], autojunk=False
    )
    at = partial(_serial_where, a0, b0, ka, kb)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                x, y = ma[i1 + k], mb[j1 + k]
                if not all(dates_match(p, q, shift) for p, q in zip(x.dates, y.dates, strict=True)):
                    diffs.append(_serial_diff("serial.date", x, y, at(i1 + k, j1 + k)))
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(pairs):
            diffs.append(_serial_diff("serial.changed", ma[i1 + k], mb[j1 + k], at(i1 + k, j1 + k)))
        # A run of lines one side lacks is one difference: one cause, one known entry.
        if i1 + pairs < i2:
            diffs.append(
                _serial_diff(
                    "serial.missing",
                    _block(ma[i1 + pairs : i2]),
                    None,
                    at(i1 + pairs, None, i2 - i1 - pairs),
                )
            )
        if j1 + pairs < j2:
            diffs.append(
                _serial_diff(
                    "serial.extra",
                    None,
                    _block(mb[j1 + pairs : j2]),
                    at(None, j1 + pairs, j2 - j1 - pairs),
                )
            )
    return diffs, max(len(ma), len(mb))


def _block(lines: list[MaskedLine]) -> MaskedLine:
    return MaskedLine(
        "\n".join(m.text for m in lines),
        tuple(d for m in lines for d in m.dates),
        tuple(dict.fromkeys(n for m in lines for n in m.masks)),
    )


def _serial_where(
    a0: int,
    b0: int,
    ka: list[int],
    kb: list[int],
    i: int | None,
    j: int | None,
    n: int = 1,
) -> str:
    """Where in the files: `i`/`j` index the compared lines, `ka`/`kb` map them to the
    lines from the start marker on, `a0`/`b0` are the start markers' lines."""
    parts = []
    for side, base, kept, k in (("golden", a0, ka, i), ("run", b0, kb, j)):
        if k is not None:
            first, last = base + kept[k] + 1, base + kept[k + n - 1] + 1
            parts.append(f"{side} line {first}" if n == 1 else f"{side} lines {first}-{last}")
    return "serial, " + ", ".join(parts)


_SERIAL_WHAT = {
    "serial.date": "a certificate date differs beyond the days between the recordings",
    "serial.changed": "a serial line differs",
    "serial.missing": "a serial line the golden has and the run has not",
    "serial.extra": "a serial line the run printed and the golden has not",
}


def _with_dates(m: MaskedLine) -> str:
    text = m.text
    for d in m.dates:
        text = text.replace("<date>", f"<date {d}>", 1)
    return text


def _serial_diff(ident: str, x: MaskedLine | None, y: MaskedLine | None, where: str) -> Difference:
    used = sorted({name for m in (x, y) if m is not None for name in m.masks})
    reasons = {r.name: r.why for r in TEXT_MASKS}
    reasons["certificate dates"] = DATE_WHY
    reasons["server port"] = PORT_WHY
    return Difference(
        ident,
        _SERIAL_WHAT[ident],
        where,
        (_with_dates(x) if ident == "serial.date" else x.text) if x else "(absent)",
        (_with_dates(y) if ident == "serial.date" else y.text) if y else "(absent)",
        "; ".join(f"{n}: {reasons[n]}" for n in used),
    )
