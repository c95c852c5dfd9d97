"""The record size a run's diagnosis holds a board to (runner._board_rx_buffer): BearSSL's
input buffer less the header, from the core release data and the sketch's HIL_RECV_BUF."""

from __future__ import annotations

from harness.instruments.boards import find_board_spec
from harness.run.runner import _board_rx_buffer


def test_bearssl_buffer_from_the_release_and_the_sketch() -> None:
    spec = find_board_spec("twin-esp8266-3.1.2")
    # 16384 + MAX_IN_OVERHEAD 325 - 5: the longest encrypted record ssl_engine.c takes.
    assert _board_rx_buffer(spec, {}) == 16704
    assert _board_rx_buffer(spec, {"HIL_RECV_BUF": "512"}) == 832
    assert _board_rx_buffer(spec, {"HIL_RECV_BUF": "100"}) == 832  # clamped as the core does
    assert _board_rx_buffer(spec, {"HIL_RECV_BUF": "lots"}) is None


def test_no_figure_where_the_limit_is_not_modelled() -> None:
    for board in ("twin-esp8266-2.4.2", "twin-esp32-2.0.17"):
        assert _board_rx_buffer(find_board_spec(board), {"HIL_RECV_BUF": "512"}) is None
    assert _board_rx_buffer(None, {}) is None
