"""What changed between two runs of the same sketch and server on two core versions: the
facts of each timeline side by side (ClientHello, ServerHello, alerts, the board's errors,
the outcome), and one sentence per difference. Pure: timelines in, text out."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from harness.model import Diagnosis, Direction, Event, Source, Timeline
from harness.model.suites import suite_name
from harness.model.tls import version_name

_SHOWN = 4  # suites named in a sentence before "..."


@dataclass(frozen=True)
class Facts:
    """The facts of one timeline the diff compares; None/() = not seen."""

    suites: tuple[int, ...] | None
    hello_version: int | None
    extensions: tuple[int, ...] | None
    sni: str | None
    mfln: int | None
    chosen_suite: int | None
    chosen_version: int | None
    alerts: tuple[str, ...]
    board_errors: tuple[str, ...]
    connected: bool


def facts(tl: Timeline) -> Facts:
    hello = _first_wire(tl, "client_hello")
    server = _first_wire(tl, "server_hello")
    alerts = tuple(
        f"{'board' if e.direction is Direction.C2S else 'server'} "
        f"{'fatal' if e.fields.get('level') == 2 else 'warning'} "
        f"{e.fields.get('name') or e.fields.get('description')}"
        for e in tl.of("alert", source=Source.WIRE)
    )
    errors = tuple(
        str(e.fields.get("message") or e.text) for e in tl.of("log_error", source=Source.SERIAL)
    )
    results = tl.of("connect_result")
    final = [e for e in results if e.fields.get("final")] or list(results)
    return Facts(
        suites=tuple(hello.fields.get("suites", ())) if hello else None,
        hello_version=hello.fields.get("version") if hello else None,
        extensions=tuple(hello.fields.get("extensions", ())) if hello else None,
        sni=hello.fields.get("sni") if hello else None,
        mfln=hello.fields.get("max_fragment_length") if hello else None,
        chosen_suite=server.fields.get("suite") if server else None,
        chosen_version=(server.fields.get("selected_version") or server.fields.get("version"))
        if server
        else None,
        alerts=alerts,
        board_errors=errors,
        connected=bool(final and final[-1].fields.get("connected")),
    )


def _first_wire(tl: Timeline, kind: str) -> Event | None:
    found = tl.of(kind, source=Source.WIRE)
    return found[0] if found else None


def _suites(ids: Sequence[int]) -> str:
    names = [suite_name(s) for s in ids[:_SHOWN]]
    more = f", ... ({len(ids)} in all)" if len(ids) > _SHOWN else ""
    return (", ".join(names) + more) if names else "none"


def _version(v: int | None) -> str:
    return "none" if v is None else version_name(v)


def diff_facts(a: Facts, b: Facts, label_a: str = "before", label_b: str = "after") -> list[str]:
    """One sentence per fact that differs, `a` -> `b`; [] when nothing the diff knows differs."""
    out: list[str] = []
    if a.suites != b.suites:
        if a.suites is None or b.suites is None:
            seen = label_a if a.suites is not None else label_b
            out.append(f"Only {seen} sent a ClientHello")
        else:
            added = [s for s in b.suites if s not in a.suites]
            removed = [s for s in a.suites if s not in b.suites]
            text = f"ClientHello suites changed from {_suites(a.suites)} to {_suites(b.suites)}"
            if added or removed:
                text += f" ({len(added)} added, {len(removed)} removed)"
            else:
                text += " (same suites, another order)"
            out.append(text)
    if a.suites is not None and b.suites is not None:
        if a.hello_version != b.hello_version:
            out.append(
                f"ClientHello version changed from {_version(a.hello_version)} "
                f"to {_version(b.hello_version)}"
            )
        if a.extensions != b.extensions:
            added = [x for x in b.extensions or () if x not in (a.extensions or ())]
            removed = [x for x in a.extensions or () if x not in (b.extensions or ())]
            out.append(
                f"ClientHello extensions changed: added {added or 'none'}, "
                f"removed {removed or 'none'}"
            )
        if a.sni != b.sni:
            out.append(f"SNI changed from {a.sni!r} to {b.sni!r}")
        if a.mfln != b.mfln:
            out.append(f"max_fragment_length request changed from {a.mfln} to {b.mfln}")
    if a.chosen_suite != b.chosen_suite:
        name = lambda s: suite_name(s) if s is not None else "no ServerHello"  # noqa: E731
        out.append(
            f"The server chose {name(a.chosen_suite)} for {label_a}, "
            f"{name(b.chosen_suite)} for {label_b}"
        )
    elif a.chosen_version != b.chosen_version:
        out.append(
            f"Negotiated version changed from {_version(a.chosen_version)} "
            f"to {_version(b.chosen_version)}"
        )
    if a.alerts != b.alerts:
        out.append(
            f"Alerts changed from [{'; '.join(a.alerts) or 'none'}] "
            f"to [{'; '.join(b.alerts) or 'none'}]"
        )
    if a.board_errors != b.board_errors:
        out.append(
            f"The board's errors changed from [{'; '.join(a.board_errors) or 'none'}] "
            f"to [{'; '.join(b.board_errors) or 'none'}]"
        )
    if a.connected != b.connected:
        word = {True: "connected", False: "did not connect"}
        out.append(f"{label_a} {word[a.connected]}; {label_b} {word[b.connected]}")
    return out


def diff_timelines(
    a: Timeline, b: Timeline, label_a: str = "before", label_b: str = "after"
) -> list[str]:
    return diff_facts(facts(a), facts(b), label_a, label_b)


def diagnosis_lines(outcome: str, diagnosis: Diagnosis) -> list[str]:
    """A diagnosis as short lines: the outcome, the explanation, the evidence, the fixes."""
    lines = [outcome, *textwrap.wrap(diagnosis.explanation, 56)]
    lines += [f"- {e.claim}" for e in diagnosis.evidence[:4]]
    lines += [f"fix [{f.where}] {f.text}" for f in diagnosis.fixes[:3]]
    return lines


def side_by_side(
    left_title: str, left: Sequence[str], right_title: str, right: Sequence[str], width: int = 58
) -> str:
    """Two columns of text; long lines wrap inside their column."""

    def wrapped(lines: Sequence[str]) -> list[str]:
        return [piece for line in lines for piece in (textwrap.wrap(line, width) or [""])]

    a, b = (
        wrapped([left_title, "-" * len(left_title), *left]),
        wrapped([right_title, "-" * len(right_title), *right]),
    )
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return "\n".join(f"{x.ljust(width)} | {y}".rstrip() for x, y in zip(a, b, strict=True)) + "\n"
