"""instruments.capture and instruments.tshark against real dumpcap and tshark on lo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.analysis import wire
from harness.instruments.capture import (
    MARKER_PREFIX,
    Capture,
    CaptureState,
    Ring,
    bpf_for_port,
    capture_target,
    interface_holding,
    interface_routing,
)
from harness.instruments.capture.markers import FILLER_PREFIX
from harness.instruments.certs import get_plan, make_certs
from harness.instruments.tshark import (
    analyze_capture,
    guess_server_port,
    open_filecapture,
    read_fields,
)
from harness.model import Direction
from harness.model.errors import CaptureError, ConfigError, StateError
from harness.run.runner import BenchConfig

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data" / "wire"


# -- a local TLS server on 127.0.0.1 ---------------------------------------------------


class TlsServer:
    """Python ssl on 127.0.0.1: handshake, read a request, answer, close_notify, FIN."""

    def __init__(self, cert: Path, key: Path, keylog: Path) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.keylog_filename = str(keylog)
        self.keylog = keylog
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # listener closed
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    if tls.recv(64):
                        tls.sendall(b"ok")
                        tls.unwrap()
            except (ssl.SSLError, OSError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("cert")
    bundle = make_certs(get_plan("self-signed"), "127.0.0.1", out, BenchConfig().cache_dir / "keys")
    return bundle.cert_pem, bundle.key_pem


@pytest.fixture
def server(cert_pair: tuple[Path, Path], tmp_path: Path) -> Iterator[TlsServer]:
    srv = TlsServer(*cert_pair, tmp_path / "server.keylog")
    yield srv
    srv.close()


def handshake(port: int) -> None:
    """One clean TLS connection; returns right after the client's FIN, its last packet."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = ctx.wrap_socket(sock)
        tls.sendall(b"hi")
        assert tls.recv(64) == b"ok"
        plain = tls.unwrap()  # close_notify both ways
        while plain.recv(64):  # until the server's FIN: then ours is the last packet
            pass
        plain.close()


def dumpcap_gone(pid: int | None) -> bool:
    return pid is not None and not Path(f"/proc/{pid}").exists()


# -- lossless stop ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 10, 50, 100])
def test_stop_right_after_the_last_packet_loses_nothing(
    n: int, server: TlsServer, tmp_path: Path
) -> None:
    pcap = tmp_path / "run.pcapng"
    cap = Capture(pcap, bpf=bpf_for_port(server.port), log_path=tmp_path / "dumpcap.log")
    cap.start()
    for _ in range(n):
        handshake(server.port)
    result = cap.stop()  # no pause: the client's FIN was the last packet

    assert result.verified
    assert result.dropped == 0
    assert dumpcap_gone(cap.pid)
    analysis = analyze_capture(pcap, server.keylog, server.port, log_path=tmp_path / "tshark.log")
    assert not analysis.partial
    assert analysis.warnings == ()
    counts = {k: len(analysis.of_kind(k)) for k in ("tcp_syn", "tcp_fin", "server_hello")}
    assert counts == {"tcp_syn": n, "tcp_fin": 2 * n, "server_hello": n}
    assert {e.stream for e in analysis.events} == set(range(n))
    attempts = analysis.attempts()
    assert len(attempts) == n
    # The very last packet, the client's FIN of the last connection, is there.
    last = attempts[-1].events[-1]
    assert (last.kind, last.direction) == ("tcp_fin", Direction.C2S)
    assert all(a.app_data for a in attempts)


def test_stop_twice_and_context_manager(server: TlsServer, tmp_path: Path) -> None:
    pcap = tmp_path / "run.pcapng"
    with Capture(pcap, bpf=bpf_for_port(server.port), log_path=tmp_path / "d.log") as cap:
        assert cap.state is CaptureState.CAPTURING
        handshake(server.port)
    first = cap.result
    assert first is not None and first.verified
    assert cap.stop() is first
    assert cap.stop() is first
    assert cap.state is CaptureState.STOPPED
    assert dumpcap_gone(cap.pid)
    assert first.size == pcap.stat().st_size > 0
    with pytest.raises(StateError, match="start\\(\\) in state 'stopped'"):
        cap.start()


def test_an_error_inside_the_block_still_stops_dumpcap(tmp_path: Path) -> None:
    cap = Capture(tmp_path / "x.pcapng", bpf=bpf_for_port(9), log_path=tmp_path / "d.log")
    with pytest.raises(RuntimeError, match="boom"), cap:
        raise RuntimeError("boom")
    assert cap.state is CaptureState.STOPPED
    assert dumpcap_gone(cap.pid)


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    cap = Capture(tmp_path / "x.pcapng", bpf="tcp port 9", log_path=tmp_path / "d.log")
    result = cap.stop()
    assert result.verified is False and result.returncode is None
    assert cap.stop() is result


def test_start_is_ready_at_once(server: TlsServer, tmp_path: Path) -> None:
    """The very first packet after start() is in the file (no warm-up sleep)."""
    pcap = tmp_path / "run.pcapng"
    with Capture(pcap, bpf=bpf_for_port(server.port), log_path=tmp_path / "d.log") as cap:
        handshake(server.port)
    assert cap.result is not None and cap.result.ready_seconds > 0
    analysis = analyze_capture(pcap, server.keylog, server.port)
    assert [e.kind for e in analysis.events[:3]] == ["tcp_syn", "tcp_synack", "client_hello"]


# -- start failures --------------------------------------------------------------------


def test_start_on_a_missing_interface_fails_clearly(tmp_path: Path) -> None:
    log = tmp_path / "dumpcap.log"
    cap = Capture(tmp_path / "x.pcapng", interface="nosuch0", bpf="tcp port 9", log_path=log)
    with pytest.raises(CaptureError) as info:
        cap.start(timeout=5)
    text = str(info.value)
    assert "nosuch0" in text
    assert "no device" in text.lower()
    assert "dumpcap -D" in text
    assert str(log) in text
    assert cap.state is CaptureState.STOPPED
    assert dumpcap_gone(cap.pid)


def test_start_with_a_bad_filter_fails_clearly(tmp_path: Path) -> None:
    cap = Capture(tmp_path / "x.pcapng", bpf="tcp port", log_path=tmp_path / "d.log")
    with pytest.raises(CaptureError, match="capture filter"):
        cap.start()
    assert dumpcap_gone(cap.pid)


def test_an_unprivileged_dumpcap_is_refused_with_the_fix(tmp_path: Path) -> None:
    # dumpcap as "nobody": no root, no wireshark group, no file capabilities.
    log = tmp_path / "dumpcap.log"
    cap = Capture(tmp_path / "x.pcapng", bpf="tcp port 9", log_path=log, user="nobody")
    with pytest.raises(CaptureError) as info:
        cap.start(timeout=5)
    err = info.value
    assert "refused to capture on 'lo'" in err.what
    assert "permission" in err.seen.lower()
    assert "wireshark group" in err.fix and "setcap cap_net_raw,cap_net_admin+eip" in err.fix
    assert "ran as 'nobody'" in err.fix
    assert err.log == log
    assert cap.state is CaptureState.STOPPED
    assert dumpcap_gone(cap.pid)


def test_an_unknown_user_is_a_config_error(tmp_path: Path) -> None:
    cap = Capture(
        tmp_path / "x.pcapng",
        bpf="tcp port 9",
        log_path=tmp_path / "d.log",
        user="no-such-user-hil",
    )
    with pytest.raises(ConfigError, match="no-such-user-hil"):
        cap.start()
    assert cap.state is CaptureState.STOPPED


def test_permission_refusal_names_the_three_fixes() -> None:
    from harness.instruments.capture.dumpcap_log import fix_for

    seen = 'dumpcap: You do not have permission to capture on device "lo".'
    fix = fix_for(seen, "lo")
    assert "root" in fix and "wireshark group" in fix
    assert "setcap cap_net_raw,cap_net_admin+eip /usr/bin/dumpcap" in fix


def test_bpf_for_port() -> None:
    assert bpf_for_port(443) == "tcp port 443"
    for bad in (0, 65536, "443", True):
        with pytest.raises(ConfigError):
            bpf_for_port(bad)  # type: ignore[arg-type]


# -- where to capture ------------------------------------------------------------------


def test_capture_target_for_loopback_and_all_addresses() -> None:
    twin = capture_target("127.0.0.1", 4433)
    assert (twin.interface, twin.bpf) == ("lo", "host 127.0.0.1 and tcp port 4433")
    assert capture_target("::1", 443).interface == "lo"
    everywhere = capture_target("0.0.0.0", 443)
    assert (everywhere.interface, everywhere.bpf) == ("any", "tcp port 443")


def test_capture_target_for_an_address_of_this_machine_is_its_interface() -> None:
    # A real board reaches the harness's server on the bench network: its packets
    # arrive on the interface holding the address, though `ip route get` says lo.
    # Shown in a network namespace of the test's own, holding a veth pair (this kernel
    # has no dummy links) with a benchmarking address (RFC 2544); nothing is sent.
    import os
    import subprocess
    import sys

    ns = f"hil-capture-{os.getpid()}"
    ip = ["ip", "-n", ns]
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    try:
        for cmd in (
            [*ip, "link", "set", "lo", "up"],
            [*ip, "link", "add", "bench0", "type", "veth", "peer", "name", "bench1"],
            [*ip, "addr", "add", "198.18.0.10/24", "dev", "bench0"],
            [*ip, "link", "set", "bench0", "up"],
        ):
            subprocess.run(cmd, check=True, timeout=10)
        probe = (
            "from harness.instruments.capture import capture_target\n"
            "t = capture_target('198.18.0.10', 443)\n"
            "print(t.interface, '|', t.bpf)"
        )
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True, timeout=10)
    assert out == "bench0 | host 198.18.0.10 and tcp port 443"


def test_capture_target_refuses_names_and_bad_ports() -> None:
    with pytest.raises(ConfigError, match="not an IP address"):
        capture_target("example.com", 443)
    with pytest.raises(ConfigError):
        capture_target("127.0.0.1", 0)


def test_interface_choice_from_ip_json() -> None:
    import ipaddress

    addrs = [
        {"ifname": "lo", "addr_info": [{"local": "127.0.0.1"}]},
        {"ifname": "wlan0", "addr_info": [{"local": "192.168.4.2"}, {"local": "fe80::1"}]},
    ]
    assert interface_holding(ipaddress.ip_address("192.168.4.2"), addrs) == "wlan0"
    assert interface_holding(ipaddress.ip_address("192.168.4.3"), addrs) is None
    assert interface_holding(ipaddress.ip_address("192.168.4.3"), None) is None
    assert interface_routing([{"dst": "10.1.2.3", "dev": "eth0"}]) == "eth0"
    assert interface_routing([]) is None and interface_routing({"x": 1}) is None


def test_a_capture_on_the_chosen_target_sees_the_handshake(
    server: TlsServer, tmp_path: Path
) -> None:
    target = capture_target("127.0.0.1", server.port)
    pcap = tmp_path / "run.pcapng"
    with Capture(pcap, interface=target.interface, bpf=target.bpf, log_path=tmp_path / "d.log"):
        handshake(server.port)
    analysis = analyze_capture(pcap, server.keylog, server.port)
    assert len(analysis.of_kind("client_hello")) == 1


# -- ring buffer -----------------------------------------------------------------------


def test_ring_keeps_the_newest_files_each_readable_and_loses_nothing_at_the_end(
    server: TlsServer, tmp_path: Path
) -> None:
    pcap = tmp_path / "ring.pcapng"
    ring = Ring(file_bytes=64 * 1024, files=5)
    cap = Capture(pcap, bpf=bpf_for_port(server.port), log_path=tmp_path / "d.log", ring=ring)
    cap.start()
    for _ in range(100):
        handshake(server.port)
    result = cap.stop()

    assert result.verified
    # 100 handshakes of about 5 kB fill more than five files of 64 KiB (the markers'
    # filler is left out of the files): the oldest were deleted.
    names = sorted(p.name for p in tmp_path.glob("ring_*.pcapng"))
    assert len(names) == 5 and names == [p.name for p in result.files]
    assert names[0] != "ring_00001.pcapng"
    assert result.path == result.files[-1]
    assert result.size == sum(p.stat().st_size for p in result.files)
    assert not pcap.exists()
    with_events = []
    for part in result.files:
        with part.open("rb") as f:
            assert f.read(4) == bytes.fromhex("0a0d0d0a")  # each file starts a section
        analysis = analyze_capture(part, server.keylog, server.port)
        assert not analysis.partial and analysis.warnings == ()
        if analysis.events:
            with_events.append(analysis)
    # The last packet before stop(), the client's FIN of the last handshake, was kept.
    assert with_events, "the handshakes should reach the newest files"
    last = with_events[-1].events[-1]
    assert (last.kind, last.direction) == ("tcp_fin", Direction.C2S)


def test_ring_rejects_silly_sizes() -> None:
    with pytest.raises(ConfigError):
        Ring(file_bytes=1000, files=3)
    with pytest.raises(ConfigError):
        Ring(file_bytes=1 << 20, files=1)


# -- reading captures ------------------------------------------------------------------


@pytest.fixture
def real_capture(server: TlsServer, tmp_path: Path) -> Path:
    pcap = tmp_path / "run.pcapng"
    with Capture(pcap, bpf=bpf_for_port(server.port), log_path=tmp_path / "d.log"):
        for _ in range(3):
            handshake(server.port)
    return pcap


def test_the_file_keeps_the_traffic_and_the_markers_but_not_the_filler(
    real_capture: Path, server: TlsServer
) -> None:
    data = real_capture.read_bytes()
    assert FILLER_PREFIX not in data
    assert data.count(MARKER_PREFIX) >= 2  # the start probe and the stop marker
    # Three handshakes are a few kB; each marker's filler alone was 300 kB.
    assert len(data) < 60_000
    analysis = analyze_capture(real_capture, server.keylog, server.port)
    assert len(analysis.of_kind("client_hello")) == 3
    last = analysis.events[-1]
    assert (last.kind, last.direction) == ("tcp_fin", Direction.C2S)


def test_a_truncated_capture_is_read_partially(
    real_capture: Path, server: TlsServer, tmp_path: Path
) -> None:
    data = real_capture.read_bytes()
    cut = tmp_path / "cut.pcapng"
    # Cut inside the last TCP packets, just before the stop marker.
    whole = analyze_capture(real_capture, server.keylog, server.port)
    cut.write_bytes(data[: data.rfind(MARKER_PREFIX) - 200])
    fields = read_fields(
        cut,
        keylog=server.keylog,
        fields=wire.FIELDS,
        display_filter="tcp",
        log_path=tmp_path / "t.log",
        timeout=60,
        tls_ports=(server.port,),
    )
    assert fields.partial
    assert any("cut short" in w for w in fields.warnings)
    assert len(fields.text.splitlines()) > 1
    partial = analyze_capture(cut, server.keylog, server.port)
    assert partial.partial
    assert 0 < len(partial.events) <= len(whole.events)
    assert partial.events == whole.events[: len(partial.events)]


def test_missing_and_foreign_files_are_named(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.pcapng"
    with pytest.raises(CaptureError, match=r"nothing\.pcapng does not exist"):
        analyze_capture(missing, None, 443)
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a capture\n")
    with pytest.raises(CaptureError, match=r"notes\.txt is not a pcap or pcapng file"):
        analyze_capture(text, None, 443)
    empty = tmp_path / "empty.pcapng"
    empty.write_bytes(b"")
    with pytest.raises(CaptureError, match=r"empty\.pcapng is not a pcap"):
        analyze_capture(empty, None, 443)


def test_committed_sample_reads_as_its_committed_text() -> None:
    name = "tls12_no_shared_cipher"
    port = int((DATA / f"{name}.port").read_text())
    analysis = analyze_capture(DATA / f"{name}.pcapng", DATA / f"{name}.keylog", port)
    expected = wire.decode((DATA / f"{name}.fields.txt").read_text(), port)
    assert analysis.events == expected.events
    assert analysis.of_kind("alert")[0].fields["name"] == "handshake_failure"


def test_open_filecapture_gives_pyshark_packets() -> None:
    name = "tls12_ok"
    port = int((DATA / f"{name}.port").read_text())
    cap = open_filecapture(
        DATA / f"{name}.pcapng", DATA / f"{name}.keylog", server_port=port, display_filter="tls"
    )
    try:
        types = [p.tls.get_field_value("handshake_type") for p in cap if hasattr(p, "tls")]
    finally:
        cap.close()
    assert "1" in types and "2" in types


def test_open_filecapture_works_after_asyncio_run_left_no_loop() -> None:
    # asyncio.run() (labgrid's client does the same) leaves the main thread's loop set to
    # None, and pyshark then raised "There is no current event loop".
    asyncio.run(asyncio.sleep(0))
    test_open_filecapture_gives_pyshark_packets()


def test_no_dumpcap_left_behind_by_this_module(hil_session) -> None:
    # The pytest session's pooled servers keep a dumpcap each until its end (tests of
    # harness.run.session that ran before in this process): those are not this module's.
    kept = hil_session.pids() if hil_session is not None else set()
    mine = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        dumpcap = bool(cmdline) and cmdline[0].endswith(b"dumpcap")
        if dumpcap and ppid == os.getpid() and int(proc.name) not in kept:
            mine.append(proc.name)
    assert mine == []


def test_guess_server_port_from_the_committed_samples(tmp_path: Path) -> None:
    for name in ("tls12_ok", "tls13_unknown_ca", "tls12_mfln"):
        port = int((DATA / f"{name}.port").read_text())
        assert guess_server_port(DATA / f"{name}.pcapng") == port
    # Without the SYNs (a capture started late), the port that sent a ServerHello.
    late = tmp_path / "late.pcapng"
    name = "tls12_ok"
    port = int((DATA / f"{name}.port").read_text())
    import subprocess

    subprocess.run(
        ["tshark", "-r", DATA / f"{name}.pcapng", "-Y", "tcp.flags.syn == 0", "-w", late],
        check=True,
        capture_output=True,
    )
    assert guess_server_port(late) == port


def test_guess_server_port_without_tcp_is_a_clear_error(tmp_path: Path) -> None:
    only_markers = tmp_path / "markers.pcapng"
    import subprocess

    subprocess.run(
        ["tshark", "-r", DATA / "tls12_ok.pcapng", "-Y", "udp", "-w", only_markers],
        check=True,
        capture_output=True,
    )
    with pytest.raises(CaptureError, match="server port is unknown"):
        guess_server_port(only_markers)


# -- a capture split into parts (a session's pooled server) ------------------------------


def test_a_split_capture_gives_each_part_exactly_its_packets(server: TlsServer, tmp_path):
    cap = Capture(
        tmp_path / "between.pcapng",
        bpf=bpf_for_port(server.port),
        log_path=tmp_path / "dumpcap.log",
        split=True,
    )
    with cap:
        parts = []
        for n in (1, 3):
            cap.begin_part(tmp_path / f"part{n}.pcapng")
            for _ in range(n):
                handshake(server.port)
            parts.append((n, cap.end_part()))  # no pause: the last FIN must be in it
            handshake(server.port)  # between parts: in neither
    for n, part in parts:
        assert part.path.stat().st_size == part.size
        analysis = analyze_capture(part.path, server.keylog, server.port)
        assert not analysis.partial
        assert len(analysis.of_kind("tcp_syn")) == n
        assert len(analysis.of_kind("tcp_fin")) == 2 * n
        last = analysis.attempts()[-1].events[-1]
        assert (last.kind, last.direction) == ("tcp_fin", Direction.C2S)
        data = part.path.read_bytes()
        assert data.count(MARKER_PREFIX) == 2  # its start and its stop marker
        assert FILLER_PREFIX not in data
    between = analyze_capture(tmp_path / "between.pcapng", server.keylog, server.port)
    assert len(between.of_kind("tcp_syn")) == 2  # nothing lost between the parts


def test_parts_need_a_split_capture_and_markers(tmp_path):
    with pytest.raises(ConfigError, match="split"):
        Capture(
            tmp_path / "c.pcapng", interface="eth0", bpf="", log_path=tmp_path / "l", split=True
        )
    cap = Capture(tmp_path / "c.pcapng", bpf="tcp port 9", log_path=tmp_path / "l")
    with pytest.raises(StateError, match="split=True"):
        cap.begin_part(tmp_path / "p.pcapng")
