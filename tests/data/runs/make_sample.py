"""Keep a harness run directory as a committed sample for the pure tests.

    .venv/bin/python tests/data/runs/make_sample.py RUN_DIR NAME

Writes tests/data/runs/NAME/: serial.log (the run's, host-stamped lines as the
serial monitor wrote them), wire.fields.txt (tshark's output for wire.FIELDS over
the run's capture with its keylog, the rows `analyze_capture` decodes), server.log
(the server's JSON lines) and port (the server's port). The pcapng is not kept: the
fields are what the pure analysis reads, and they are a few kilobytes.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from harness.analysis import wire
from harness.analysis.serverlog import parse_server_log
from harness.instruments.tshark import read_fields

HERE = Path(__file__).resolve().parent


def main(run_dir: Path, name: str) -> None:
    out = HERE / name
    out.mkdir(parents=True, exist_ok=True)
    listening = next(
        e for e in parse_server_log((run_dir / "server.log").read_text()) if "port" in e.fields
    )
    port = int(listening.fields["port"])
    fields = read_fields(
        run_dir / "capture.pcapng",
        keylog=run_dir / "keylog.txt",
        fields=wire.FIELDS,
        display_filter=f"tcp.port == {port}",
        tls_ports=(port,),
        log_path=None,
        timeout=60,
    )
    (out / "wire.fields.txt").write_text(fields.text)
    (out / "port").write_text(f"{port}\n")
    for artifact in ("serial.log", "server.log"):
        shutil.copyfile(run_dir / artifact, out / artifact)
    print(json.dumps({"sample": str(out), "port": port, "rows": fields.text.count("\n")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
