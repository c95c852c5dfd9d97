"""A twin build of a harness sketch reads port and trust at start: the values it is
given are the bytes a board's build would have compiled in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.instruments.boards import get_board_spec, twin_run_values
from harness.instruments.boards.esp import EspBoard
from harness.instruments.certs import get_plan, make_certs
from harness.instruments.certs.exports import (
    HEADER_NAME,
    HEADER_SYMBOL,
    PEM_HEADER_NAME,
    PEM_HEADER_SYMBOL,
    render_c_header,
    render_c_string_header,
)
from harness.model.errors import StateError


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("keys")
    return make_certs(get_plan("founding-report"), "localhost", tmp_path_factory.mktemp("c"), cache)


def test_the_environment_carries_what_a_boards_headers_compile_in(bundle):
    env = twin_run_values.environment(bundle, 4433)
    assert env["HIL_RUN_PORT"] == "4433"
    assert env["HIL_RUN_CERT_SHA1"] == bundle.sha1
    der = Path(env["HIL_RUN_CA_DER_FILE"]).read_bytes()
    pem = Path(env["HIL_RUN_CA_PEM_FILE"]).read_text()
    # The board's headers, made again from the files the twin reads: the same bytes.
    body = bundle.header.read_text().split("static const", 1)[1]
    assert body in render_c_header(der, HEADER_SYMBOL)
    pem_body = bundle.ca_header_pem.read_text().split("static const", 1)[1]
    assert pem_body in render_c_string_header(pem, PEM_HEADER_SYMBOL)


def test_the_twin_headers_define_the_names_a_boards_headers_do(bundle):
    for name, board_header in (
        (HEADER_NAME, bundle.header),
        (PEM_HEADER_NAME, bundle.ca_header_pem),
    ):
        board_names = set(
            re.findall(r"static const [a-z ]+ (\w+)(?:\[\])? =", board_header.read_text())
        )
        twin_names = set(re.findall(r"#define (\w+) ", twin_run_values.HEADERS[name].decode()))
        assert board_names and board_names == twin_names, name
    assert set(twin_run_values.DEFINES) == {"HIL_SERVER_PORT", "HIL_CERT_SHA1"}


def test_a_board_compiles_them_in_and_refuses_run_time_values(tmp_path):
    board = EspBoard(get_board_spec("esp-esp8266-3.1.2"), cache_dir=tmp_path, run_dir=tmp_path)
    with pytest.raises(StateError, match="compiles its server port and trust in"):
        board.give_run_values({"HIL_RUN_PORT": "1"})
