"""`hil reproduce --serial LOG`: a pasted log read, the twin run that would explain it
composed and run, and the twin's run held beside the log (layer 4).

1. The log is diagnosed as `hil diagnose --serial` does, and read for what it tells of
   the board (stack, core release) and of the server (alerts, certificate dump, host).
2. plan.py chooses the twin of that core, a server profile (and certificate plan) for
   the cause and what the log shows of the server, and the sketch and its settings.
3. The scenario runs like any other (runner.run_scenario): one run directory with
   everything in it.
4. compare.py aligns the paste's TLS lines with the twin's; the twin's diagnosis is set
   beside the log's: the reproduction holds when both name the same cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from harness.analysis import report
from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_serial_log
from harness.analysis.logformats.logfacts import FactReader, LogFacts
from harness.instruments.boards import get_board_spec
from harness.model import Diagnosis, Expectation, RunRecord, Scenario
from harness.run.offline import diagnose_serial_log, serial_log_events
from harness.run.reproduce.compare import Comparison, compare, compared_lines
from harness.run.reproduce.plan import (
    Plan,
    check_stageable,
    choose_core,
    choose_server,
    choose_server_name,
    choose_sketch,
)
from harness.run.runner import BenchConfig, run_scenario

# A paste is compared by its first lines of TLS output; enough for any one attempt.
MAX_COMPARED = 300
MAX_SKETCH_TEXTS = 2000


@dataclass(frozen=True)
class Reproduction:
    log: Path
    facts: LogFacts
    log_diagnosis: Diagnosis
    plan: Plan
    record: RunRecord
    comparison: Comparison

    @property
    def twin_diagnosis(self) -> Diagnosis:
        return self.record.diagnosis

    @property
    def reproduced(self) -> bool:
        """The twin's run failed for the cause the log's diagnosis names."""
        cause = self.log_diagnosis.cause
        return cause not in (None, "unknown") and self.twin_diagnosis.cause == cause

    def to_json(self) -> dict[str, object]:
        return {
            "log": str(self.log),
            "reproduced": self.reproduced,
            "log_diagnosis": self.log_diagnosis.to_json(),
            "twin_diagnosis": self.twin_diagnosis.to_json(),
            "facts": self.facts.to_json(),
            "plan": self.plan.to_json(),
            "comparison": self.comparison.to_json(),
            "run_dir": str(self.record.run_dir),
            "verdict": self.record.verdict.outcome.value,
        }


def _read_log(path: Path, stack: str | None) -> tuple[LogFacts, list[str], list[str]]:
    """(facts, the paste's compared lines, its texts for choosing the sketch)."""
    reader = FactReader(stack)
    lines: list[str] = []
    texts: list[str] = []
    for e in serial_log_events(path, stack):
        reader.feed(e)
        if len(texts) < MAX_SKETCH_TEXTS:
            texts.append(e.text)
        if len(lines) < MAX_COMPARED:
            lines += compared_lines((e,))
    return reader.facts(), lines, texts


def plan_reproduction(
    path: Path,
    config: BenchConfig,
    *,
    core: str | None = None,
    profile: str | None = None,
) -> tuple[Plan, LogFacts, Diagnosis, list[str]]:
    """What a reproduction of `path` would run, without running it."""
    result = diagnose_serial_log(path)
    facts, pasted, texts = _read_log(path, result.stack)
    if facts.core.known or facts.stack:
        check_stageable(result.diagnosis, profile)
    core_choice = choose_core(facts, core)
    board = f"twin-{core_choice.value}"
    get_board_spec(board)  # a modelled core without a twin is a bug: fail here, named
    family = core_choice.value.partition("-")[0]
    server, cert_plan, defines = choose_server(result.diagnosis, facts, profile)
    if family == "esp8266" and facts.stack == "axtls" and not facts.clock_set:
        defines.setdefault("HIL_SET_CLOCK", "0")  # the axTLS reports set no clock
    plan = Plan(
        core=core_choice,
        board=board,
        profile=server,
        sketch=choose_sketch(texts, family, config.sketches_dir),
        cert_plan=cert_plan,
        defines=defines,
        server_name=choose_server_name(result.diagnosis, defines),
    )
    return plan, facts, result.diagnosis, pasted


def _scenario(path: Path, plan: Plan, cause: str | None) -> Scenario:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem)[:60] or "log"
    expect = (
        Expectation(connected=False, cause=cause)
        if cause not in (None, "unknown")
        else Expectation(connected=cause is None)
    )
    return Scenario(
        name=f"reproduce-{stem}",
        description=f"{path.name} reproduced on {plan.board} against {plan.profile.value}",
        sketch=plan.sketch.value,
        board=plan.board,
        profile=plan.profile.value,
        expectation=expect,
        cert_plan=plan.cert_plan.value if plan.cert_plan else None,
        defines=dict(plan.defines),
        server_name=plan.server_name.value if plan.server_name else None,
        group="regressions",
        source=str(path),
    )


def _twin_lines(record: RunRecord, stack: str | None) -> list[str]:
    serial = record.run_dir / "serial.log"
    if not serial.is_file():
        return []
    lines = read_serial_log(serial.read_text(errors="replace"))
    return list(islice(compared_lines(parse_serial(lines, stack)), MAX_COMPARED))


def reproduce_log(
    path: Path,
    config: BenchConfig,
    *,
    core: str | None = None,
    profile: str | None = None,
) -> Reproduction:
    plan, facts, diagnosis, pasted = plan_reproduction(path, config, core=core, profile=profile)
    record = run_scenario(_scenario(path, plan, diagnosis.cause), config)
    stack = get_board_spec(plan.board).stack
    comparison = compare(pasted, _twin_lines(record, stack))
    return Reproduction(path, facts, diagnosis, plan, record, comparison)


def render_text(r: Reproduction) -> str:
    p = r.plan
    said = r.log_diagnosis.cause or "connected"
    got = r.twin_diagnosis.cause or "connected"
    out = [
        f"Log: {r.log}",
        "What the log tells:",
        *(f"  {line}" for line in r.facts.lines()),
        "The twin run chosen:",
        f"  board:   {p.board} ({p.core.why})",
        f"  server:  {p.profile.value} ({p.profile.why})",
    ]
    if p.cert_plan is not None:
        out.append(f"  certificate plan: {p.cert_plan.value} ({p.cert_plan.why})")
    if p.server_name is not None:
        out.append(f"  host name: {p.server_name.value} ({p.server_name.why})")
    out += [
        f"  sketch:  {p.sketch.value} ({p.sketch.why})",
        "  settings: " + (" ".join(f"{k}={v}" for k, v in sorted(p.defines.items())) or "-"),
        "",
        r.comparison.side_by_side(),
        "",
        f"Similarity: {r.comparison.similarity:.0%} ({r.comparison.matched} of the paste's "
        f"{r.comparison.pasted} TLS lines printed by the twin too; the twin printed "
        f"{r.comparison.twin})",
        "",
        f"{'The log':<10} {said:<22} [{r.log_diagnosis.confidence}]",
        f"{'The twin':<10} {got:<22} [{r.twin_diagnosis.confidence}]",
        "Reproduced: "
        + (
            f"yes, the twin fails with {got} as the log does"
            if r.reproduced
            else f"no: the log says {said}, the twin's run {got}"
        ),
        "",
        "The twin's diagnosis:",
        report.diagnosis_text(r.twin_diagnosis),
        f"Run directory: {r.record.run_dir}",
    ]
    return "\n".join(out)
