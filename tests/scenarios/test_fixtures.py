"""The plugin's building blocks composed by hand, as a user writing their own test would:
the founding report without the runner, with the packets checked through pyshark."""

from __future__ import annotations

import json

from harness.instruments.boards.base import BuildRequest
from harness.instruments.tshark import open_filecapture
from harness.run.shipped import shipped_dir

AXTLS_OFFER = ["0x003c", "0x003d", "0x0035", "0x002f"]


def test_building_blocks_reproduce_the_founding_report(tls_server, capture, board, serial, certs):
    server = tls_server("do-2016-ssl-params")
    cap = capture(server.port)
    twin = board("twin-esp8266-axtls")
    header = (
        '#define HIL_SCENARIO "by-hand"\n#define HIL_WIFI_SSID "x"\n'
        '#define HIL_WIFI_PASSWORD "x"\n#define HIL_SERVER_HOST "127.0.0.1"\n'
        f"#define HIL_SERVER_PORT {server.port}\n#define HIL_SET_CLOCK 0\n"
        '#include "hil_ca_cert.h"\n'
    )
    bundle = certs("founding-report")
    request = BuildRequest(
        shipped_dir("sketches") / "founding_report",
        header,
        {"hil_ca_cert.h": bundle.header.read_bytes()},
    )
    firmware = twin.build(request, log_path=server.run_dir / "build.log")
    twin.flash(firmware, log_path=server.run_dir / "build.log")
    mon = serial(twin.serial_port)
    twin.reset()
    mon.expect(f"HIL:BOOT build={firmware.build_id}", timeout=20)
    mon.expect("HIL:DONE connected=0", timeout=30)
    twin.halt()
    cap.stop()
    server.stop()

    assert "Alert: handshake failure" in [ln.text for ln in mon.lines]
    events = [json.loads(x) for x in server.server_log.read_text().splitlines()]
    assert any(e.get("reason") == "NO_SHARED_CIPHER" for e in events)

    packets = open_filecapture(
        cap.result.path, server.keylog, server_port=server.port, display_filter="tls"
    )
    try:
        tls = [p.tls for p in packets]
    finally:
        packets.close()
    hello = next(layer for layer in tls if layer.get_field("handshake_type") == "1")
    offered = [str(s.show) for s in hello.get_field("handshake_ciphersuite").all_fields]
    assert [int(s, 16) for s in offered] == [int(s, 16) for s in AXTLS_OFFER]
    alerts = [layer.get_field("alert_message_desc") for layer in tls]
    assert "40" in [str(a) for a in alerts if a is not None]
