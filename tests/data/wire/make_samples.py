"""Re-make the wire samples: real handshakes on lo between Python ssl server and client.

    .venv/bin/python tests/data/wire/make_samples.py

Each sample is NAME.pcapng (what dumpcap wrote, minus the large filler datagrams of
the capture's flush marker, so the repository stays small; the small marker
datagrams are kept), NAME.keylog (the server's NSS key log) and NAME.fields.txt
(tshark's output for wire.FIELDS over the whole file with the keylog, markers
included, so the decoder's handling of them is tested too), NAME.nokeys.fields.txt
(the same without the keylog: what a capture without the server's keys shows) and
NAME.port (the server port).

- tls12_no_shared_cipher: the founding report's situation. The client offers only
  axTLS's four suites at TLS 1.2; the server allows only ECDHE/DHE AES-GCM: alert 40.
- tls12_ok: ECDHE-RSA-AES128-GCM-SHA256 at TLS 1.2 with SNI "localhost", one request
  and response.
- tls13_ok: TLS 1.3, one request and response.
- tls13_unknown_ca: TLS 1.3, the client rejects the self-signed certificate: an
  encrypted alert 48 (unknown_ca) from the client.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import sys
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from harness import procs  # noqa: E402
from harness.capture import Capture, bpf_for_port  # noqa: E402
from harness.tshark import read_fields  # noqa: E402
from harness.wire import FIELDS  # noqa: E402

# The founding report's ssl-params.conf allows "EECDH+AESGCM:EDH+AESGCM"; with an RSA key
# that is these four.
SERVER_CIPHERS = ":".join(
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
    )
)
AXTLS_CIPHERS = "AES128-SHA256:AES256-SHA256:AES256-SHA:AES128-SHA"


def make_cert(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def serve_once(listener: socket.socket, ctx: ssl.SSLContext) -> None:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            if tls.recv(1024):
                tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                tls.unwrap()  # close_notify: an encrypted alert on the wire
    except (ssl.SSLError, OSError):
        pass
    finally:
        conn.close()


def one_sample(
    name: str, cert: Path, key: Path, client_ctx: ssl.SSLContext, server_hostname: str
) -> None:
    keylog = HERE / f"{name}.keylog"
    keylog.unlink(missing_ok=True)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.set_ciphers(SERVER_CIPHERS)
    server_ctx.keylog_filename = str(keylog)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    raw = Path(tempfile.mkdtemp()) / "raw.pcapng"
    with Capture(raw, bpf=bpf_for_port(port), log_path=raw.with_suffix(".log")):
        server = threading.Thread(target=serve_once, args=(listener, server_ctx))
        server.start()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                with client_ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
                    tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    tls.recv(1024)
                    tls.unwrap()
            except (ssl.SSLError, OSError) as exc:
                print(f"{name}: client saw {exc}")
        server.join()
    listener.close()
    pcap = HERE / f"{name}.pcapng"
    # Drop the filler datagrams (60 kB each), keep TCP and the small markers.
    procs.run(["tshark", "-r", raw, "-Y", "tcp or frame.len < 200", "-w", pcap], timeout=60).check(
        "trimming the sample", "see the output"
    )
    out = read_fields(
        pcap,
        keylog=keylog,
        fields=FIELDS,
        display_filter="",
        log_path=None,
        timeout=60,
        tls_ports=(port,),
    )
    (HERE / f"{name}.fields.txt").write_text(out.text)
    nokeys = read_fields(
        pcap,
        keylog=None,
        fields=FIELDS,
        display_filter="",
        log_path=None,
        timeout=60,
        tls_ports=(port,),
    )
    (HERE / f"{name}.nokeys.fields.txt").write_text(nokeys.text)
    (HERE / f"{name}.port").write_text(f"{port}\n")
    print(f"{name}: port {port}, {len(out.text.splitlines()) - 1} rows, partial={out.partial}")


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    cert, key = make_cert(tmp)

    def client(
        max_version: ssl.TLSVersion, ciphers: str | None, *, verify: bool = False
    ) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        # verify=True with no CA loaded: the client rejects the server's certificate.
        ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        ctx.maximum_version = max_version
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx

    tls12, tls13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    # By IP address, as the founding report's sketch connects: no SNI is sent.
    one_sample("tls12_no_shared_cipher", cert, key, client(tls12, AXTLS_CIPHERS), "127.0.0.1")
    one_sample("tls12_ok", cert, key, client(tls12, None), "localhost")
    one_sample("tls13_ok", cert, key, client(tls13, None), "localhost")
    one_sample("tls13_unknown_ca", cert, key, client(tls13, None, verify=True), "localhost")


if __name__ == "__main__":
    main()
