"""timeline.html in a real headless browser (Debian's chromium, driven by Playwright with
its executable path set: Playwright's own browser download cannot work offline). The
ladder must hold the run's packets, in order, and the diagnosis; a screenshot is kept in
the run directory for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.model import Source

# What the set-up installs (scripts/dev.sh: apt chromium); missing is a failure, not a skip.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine's own probe starts it: no sandbox as root, and no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is missing: run scripts/dev.sh setup"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1220, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


@pytest.mark.parametrize("scenario", ["founding-report", "founding-report-fixed"])
def test_the_ladder_in_a_browser_holds_the_runs_packets(hil_run, page, scenario) -> None:
    record = hil_run(scenario)
    html_file = record.run_dir / "timeline.html"
    page.goto(html_file.as_uri())
    drawn = page.eval_on_selector_all(
        "svg.ladder g.ev-wire",
        "gs => gs.map(g => [g.dataset.kind, g.getBBox().width > 100])",
    )
    wire = [e.kind for e in record.timeline.events if e.source is Source.WIRE]
    assert [kind for kind, _ in drawn] == wire
    assert all(wide for _, wide in drawn)  # each packet is an arrow across the lanes
    cause = record.diagnosis.cause or "none (connected)"
    assert page.inner_text("p.cause b") == cause
    # An alert is drawn in red: the computed stroke, not just a class name.
    alerts = page.eval_on_selector_all(
        "svg.ladder g.ev-wire[data-kind=alert] line",
        "ls => ls.map(l => getComputedStyle(l).stroke)",
    )
    fatal = [e for e in record.timeline.events if e.source is Source.WIRE and e.kind == "alert"]
    assert len(alerts) == len(fatal) > 0
    assert all(stroke == "rgb(198, 40, 40)" for stroke in alerts)
    shot = record.run_dir / "timeline.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
