"""`hil serve` (a real process: start, handshake, signal, nothing left) and `hil certs`."""

from __future__ import annotations

import hashlib
import os
import re
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.instruments import procs
from harness.run.runner import BenchConfig

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def start_serve(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "harness.cli", "serve", *args]
    cmd += ["--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(BenchConfig().cache_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 15.0) -> str:
    """stdout up to and including `marker`; fails with what was seen. Reads the pipe's fd
    directly: a buffered reader would hold lines that select() no longer reports."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while marker.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                pytest.fail(f"no {marker!r} within {timeout} s; stdout so far:\n{seen.decode()}")
            chunk = os.read(fd, 4096)
            if not chunk:
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"hil serve exited ({proc.wait()}):\n{seen.decode()}\n{err}")
            seen += chunk
    return seen.decode()


def field(output: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+(.*)$", output, re.MULTILINE)
    assert match, (label, output)
    return match.group(1).strip()


def assert_gone(pid: int) -> None:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_prints_what_a_sketch_needs_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    proc = start_serve(tmp_path, "tls1.2-only")
    try:
        out = read_until(proc, "Ctrl-C stops")
        host, port = field(out, "address").rsplit(":", 1)
        pid = int(field(out, "server pid"))
        ca_pem = Path(field(out, "CA for the sketch (PEM)"))
        assert Path(field(out, "CA C header (DER array)")).name == "hil_ca_cert.h"
        assert Path(field(out, "CA C header (PEM string)")).is_file()
        sha1 = field(out, "server SHA-1")
        assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", sha1)
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", field(out, "server SHA-256"))

        # A verifying client that trusts the printed CA; the certificate is for the bind
        # address, an IP subjectAltName.
        ctx = ssl.create_default_context(cafile=str(ca_pem))
        with ctx.wrap_socket(
            socket.create_connection((host, int(port)), timeout=5), server_hostname=host
        ) as tls:
            der = tls.getpeercert(binary_form=True)
            assert tls.version() == "TLSv1.2"
        assert hashlib.sha1(der).hexdigest().upper() == sha1.replace(":", "")
        # Each connection is printed as it happens, while the server still serves.
        live = read_until(proc, "handshake_ok")
        assert re.search(r"#\d+ 127\.0\.0\.1:\d+ +accepted", live), live
        assert re.search(r"handshake_ok version=TLSv1.2 cipher=\S+", live), live

        proc.send_signal(sig)
        rc = proc.wait(timeout=5)
        rest = proc.stdout.read() if proc.stdout else ""
        assert rc == 0, (rest, proc.stderr.read() if proc.stderr else "")
        assert "stopped" in rest
        assert_gone(pid)
        server_log = Path(field(out, "server log")).read_text()
        assert '"event":"stopped"' in server_log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_serve_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = start_serve(tmp_path, "tls1.2-only", "--port", str(port))
        try:
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 3  # the machine's state, not the user's input
    assert f"cannot listen on 127.0.0.1:{port}" in err and "fix:" in err


def test_serve_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "no-such-profile"]) == 2
    err = capsys.readouterr().err
    assert "unknown server profile 'no-such-profile'" in err and "tls1.2-only" in err


def test_certs_writes_a_plan_and_the_c_exports_compile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    cache = str(BenchConfig().cache_dir)
    args = ["certs", "client-auth", "--host", "hil.test", "--out", str(out_dir)]
    assert main([*args, "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    for label in (
        "server certificate (PEM)",
        "server private key",
        "chain served (leaf first)",
        "CA for the sketch (DER)",
        "CA C header (DER array)",
        "CA C header (PEM string)",
        "client C header",
    ):
        assert Path(field(out, label)).parent == out_dir, label
    assert field(out, "plan") == "client-auth for hil.test"
    assert field(out, "CA subject") == "O=esp-tls-hil, CN=esp-tls-hil Root CA"

    # What a sketch compiles: the DER array (axTLS/BearSSL) and the PEM string (ESP32).
    program = tmp_path / "dump.c"
    program.write_text(
        '#include <stdio.h>\n#include "hil_ca_cert.h"\n#include "hil_ca_cert_pem.h"\n'
        '#include "hil_client_cert.h"\n'
        "int main(int argc, char **argv) {\n"
        '  FILE *der = fopen(argv[1], "wb"), *pem = fopen(argv[2], "wb");\n'
        "  fwrite(hil_ca_cert_der, 1, hil_ca_cert_der_len, der);\n"
        "  fputs(hil_ca_cert_pem, pem);\n  fclose(der); fclose(pem);\n"
        "  return hil_client_cert_der_len > 0 && hil_client_key_der_len > 0 ? 0 : 1;\n}\n"
    )
    gcc = procs.which("gcc", package="gcc")
    exe = tmp_path / "dump"
    procs.run(
        [gcc, "-Wall", "-Werror", "-Wno-unused-variable", "-I", out_dir, program, "-o", exe],
        timeout=60,
    ).check("compiling the C headers", "the headers are not valid C")
    procs.run([exe, tmp_path / "ca.der", tmp_path / "ca.pem"], timeout=10).check(
        "running the dump", "read its output"
    )
    assert (tmp_path / "ca.der").read_bytes() == (out_dir / "ca.der").read_bytes()
    assert (tmp_path / "ca.pem").read_bytes() == (out_dir / "ca.pem").read_bytes()


def test_certs_lists_plans_and_refuses_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs"]) == 0
    listing = capsys.readouterr().out
    assert "ca-rsa-8192" in listing and "founding-report" in listing
    assert main(["certs", "no-such-plan"]) == 2
    assert "use one of" in capsys.readouterr().err


def test_profiles_lists_backends_and_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^sni-strict\s+\[builtin\] ", out, re.MULTILINE)
    assert "source: nginx `ssl_reject_handshake on`" in out
