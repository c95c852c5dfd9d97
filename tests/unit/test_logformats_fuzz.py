"""No input breaks the log readers: every line gives exactly one event, no exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis.logformats import STACK_PARSERS, detect_stack, parse_serial
from harness.analysis.logformats.board import BoardParser
from harness.analysis.logformats.lines import Line, read_pasted_log, read_serial_log

STACKS = [*STACK_PARSERS, "auto", None]

# Fragments of real lines, so the fuzzer reaches deep into the patterns.
FRAGMENTS = [
    "BSSL:",
    "Couldn't connect. Error = '",
    "_run_until: Timeout",
    "[E][ssl_client.cpp:37] ",
    "_handle_error(): ",
    "[start_ssl_client():273]: ",
    "(-9984) ",
    "[  1234]",
    "[V]",
    "State:\tsending Client Hello (1)",
    "Alert: ",
    "Error: SSL error ",
    "=== CERTIFICATE ISSUED TO ===",
    " ets Jan  8 2013,rst cause:",
    "rst:0x",
    "Exception (",
    ">>>stack>>>",
    "<<<stack<<<",
    "Guru Meditation Error: Core  1 panic'ed (",
    "Backtrace: 0x",
    "Free heap: ",
    "HIL:BOOT build=",
    "HIL:DONE connected=1",
    "12:34:56.789 -> ",
    "> ",
    "```",
    "\x1b[0;32m",
    "\u241b[0m",
    "\r",
    "\n",
    "\t",
    "SSL error: ",
    "MFLN supported: ",
    "E (12) esp-tls: ",
    "-0x",
    "0x4020ab40: ",
    "3ffffe40:  ",
]
text_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=30).map(
    "".join
)


def _check(lines: list[Line], stack) -> None:
    events = parse_serial(lines, stack)
    assert len(events) == len(lines)
    assert [e.text for e in events] == [ln.text for ln in lines]


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), text_like), stack=st.sampled_from(STACKS))
def test_pasted_text(text, stack):
    _check(read_pasted_log(text), stack)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=400), stack=st.sampled_from(STACKS))
def test_bytes_decoded_with_replacement(raw, stack):
    text = raw.decode("utf-8", errors="replace")
    _check(read_pasted_log(text), stack)
    _check(read_serial_log(text), stack)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(st.text(), text_like), max_size=20))
def test_every_parser_on_raw_lines(lines):
    parsed = [Line(float(i), text) for i, text in enumerate(lines)]
    for stack in STACKS:
        _check(parsed, stack)
    detect_stack(parsed)
    board = BoardParser()
    for line in parsed:
        board.parse(line.t, line.text)
    for factory in STACK_PARSERS.values():
        parser = factory()
        for line in parsed:
            parser.parse(line.t, line.text)


@settings(max_examples=200, deadline=None)
@given(
    stamp=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=10)),
    body=st.text(max_size=40),
)
def test_serial_log_lines(stamp, body):
    lines = read_serial_log(f"{stamp}\t{body}\n")
    _check(lines, "auto")
