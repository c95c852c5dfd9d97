from harness.analysis.timeline_diff import Facts, diff_facts, diff_timelines, side_by_side
from harness.model import Direction, Event, Source, Timeline

AXTLS = (0x003C, 0x003D, 0x002F, 0x0035)
BEARSSL = (0xCCA9, 0xCCA8, 0xC02B, 0xC02F, 0x003C, 0x003D, 0x002F, 0x0035)


def _tl(suites, chosen, alerts, connected, errors=()):
    ev = [
        Event(
            1.0,
            Source.WIRE,
            "client_hello",
            Direction.C2S,
            {"suites": list(suites), "version": 0x0303, "extensions": [0], "sni": "h"},
        )
    ]
    if chosen:
        ev.append(
            Event(
                1.1,
                Source.WIRE,
                "server_hello",
                Direction.S2C,
                {"suite": chosen, "selected_version": 0x0303},
            )
        )
    for d, level, name in alerts:
        ev.append(Event(1.2, Source.WIRE, "alert", d, {"level": level, "name": name}))
    for msg in errors:
        ev.append(Event(1.3, Source.SERIAL, "log_error", None, {"message": msg}))
    ev.append(
        Event(1.4, Source.SERIAL, "connect_result", None, {"connected": connected, "final": True})
    )
    return Timeline(tuple(ev))  # fmt: skip


def test_axtls_to_bearssl_names_the_suites_and_the_outcome():
    old = _tl(AXTLS, None, [(Direction.S2C, 2, "handshake_failure")], False, ["SSL error 40"])
    new = _tl(BEARSSL, 0xC02F, [], True)
    diffs = diff_timelines(old, new, "2.4.2", "2.5.2")
    assert diffs[0].startswith(
        "ClientHello suites changed from AES128-SHA256 (0x003c), AES256-SHA256"
    )
    assert "(4 added, 0 removed)" in diffs[0] and "(8 in all)" in diffs[0]
    assert any("2.4.2, ECDHE-RSA-AES128-GCM-SHA256 (0xc02f) for 2.5.2" in d for d in diffs)
    assert any(d.startswith("Alerts changed from [server fatal handshake_failure] to [none]")
               for d in diffs)  # fmt: skip
    assert any("SSL error 40" in d for d in diffs)
    assert diffs[-1] == "2.4.2 did not connect; 2.5.2 connected"


def test_same_timelines_have_no_differences():
    a = _tl(BEARSSL, 0xC02F, [], True)
    assert diff_timelines(a, a) == []


def test_reordered_suites_and_missing_hello():
    a = _tl(AXTLS, 0x003C, [], True)
    b = _tl(tuple(reversed(AXTLS)), 0x003C, [], True)
    assert diff_timelines(a, b) == [
        "ClientHello suites changed from AES128-SHA256 (0x003c), AES256-SHA256 (0x003d), "
        "AES128-SHA (0x002f), AES256-SHA (0x0035) to AES256-SHA (0x0035), AES128-SHA (0x002f), "
        "AES256-SHA256 (0x003d), AES128-SHA256 (0x003c) (same suites, another order)"
    ]
    none = Facts(None, None, None, None, None, None, None, (), (), False)
    assert "Only after sent a ClientHello" in diff_facts(none, none.__class__(
        (1,), 0x0303, (), None, None, None, None, (), (), False))  # fmt: skip


def test_side_by_side_keeps_columns():
    text = side_by_side("left", ["a" * 70], "right", ["b"], width=20)
    rows = text.splitlines()
    assert rows[0].startswith("left") and rows[0].endswith("| right")
    assert all(r.index("|") == 21 for r in rows)
    assert sum("a" in r.split("|")[0] for r in rows) == 4  # 70 chars wrapped at 20
