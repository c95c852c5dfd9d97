"""harness.run.server_port: the remembered ports of a scenario, on 127.0.0.1."""

from __future__ import annotations

import socket

from harness.run.server_port import REMEMBERED, pick_port


def _hold(port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def test_the_remembered_port_comes_back_while_free(tmp_path):
    first = pick_port(tmp_path, "s", "127.0.0.1", None)
    assert pick_port(tmp_path, "s", "127.0.0.1", None) == first


def test_a_held_port_gets_a_second_one_and_both_are_remembered_in_order(tmp_path):
    first = pick_port(tmp_path, "s", "127.0.0.1", None)
    with _hold(first):
        second = pick_port(tmp_path, "s", "127.0.0.1", None)
        assert second != first
        # Another process holding the first settles on the second, again and again.
        assert pick_port(tmp_path, "s", "127.0.0.1", None) == second
    assert pick_port(tmp_path, "s", "127.0.0.1", None) == first  # free again: first
    assert (tmp_path / "ports" / "s").read_text().split() == [str(first), str(second)]


def test_a_port_our_session_holds_counts_as_free(tmp_path):
    first = pick_port(tmp_path, "s", "127.0.0.1", None)
    with _hold(first):
        assert pick_port(tmp_path, "s", "127.0.0.1", None, ours={first}.__contains__) == first


def test_fresh_gives_a_new_port_and_the_memory_is_bounded(tmp_path):
    ports = [pick_port(tmp_path, "s", "127.0.0.1", None, fresh=True) for _ in range(REMEMBERED + 2)]
    assert len(set(ports)) > 1
    kept = (tmp_path / "ports" / "s").read_text().split()
    assert kept[-1] == str(ports[-1])
    assert len(kept) == len(set(kept)) <= REMEMBERED
    assert len(set(ports)) <= REMEMBERED or len(kept) == REMEMBERED
