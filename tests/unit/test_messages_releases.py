"""Catalogue entries tied to one core release: the line each names is the line that release
prints, as the recordings of it show."""

from __future__ import annotations

import re

from harness.analysis.messages import catalogue, format_regex
from tests.samples import DATA

_PRINTED = re.compile(r"\[[VDIWE]\]\[(ssl_client|WiFiClientSecure)\.cpp:(\d+)\] \w+\(\): (.*)$")


def _release_entries(release: str):
    return [m for m in catalogue().messages if m.extra.get("release") == release]


def test_every_release_entry_cites_its_line():
    entries = _release_entries("1.0.6")
    assert len(entries) >= 20
    for m in entries:
        assert m.extra["line"] == m.sources[0].line, m.id
        assert m.sources[0].ref == (
            "9b95fc295fa4639ef0e07c4791ff1f8f7455ba7e"
            if "wificlientsecure" in m.id
            else "adb2f819a5f7c26eab3e51e4c2fdc8367cab7e20"
        )


def test_the_1_0_6_recordings_print_the_lines_the_catalogue_names():
    entries = _release_entries("1.0.6")
    printed: dict[tuple[str, str], set[int]] = {}
    for log in (DATA / "golden" / "esp32-1.0.6").glob("*/serial.log"):
        for raw in log.read_text(errors="replace").splitlines():
            if m := _PRINTED.search(raw):
                printed.setdefault((m.group(1), m.group(3)), set()).add(int(m.group(2)))
    checked = 0
    for m in entries:
        rx = format_regex(m.text)
        lines = {n for (_, text), ns in printed.items() if rx.fullmatch(text) for n in ns}
        if lines:
            checked += 1
            assert lines == {m.extra["line"]}, (m.id, lines)
    assert checked >= 12  # most of the lines a run prints are in the recordings


def test_esp32_httpclient_codes():
    by_code = {
        m.code: m
        for m in catalogue().messages
        if m.id.startswith("esp32.http.") and m.code is not None
    }
    assert sorted(by_code) == list(range(-11, 0))
    assert by_code[-1].text == "connection refused" and by_code[-8].cause == "out_of_memory"
