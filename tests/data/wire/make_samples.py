"""Re-make the wire samples: real handshakes on lo between a Python ssl server and a client.

    .venv/bin/python tests/data/wire/make_samples.py [NAME ...]

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
- tls12_chain3: TLS 1.2, ECDHE on secp384r1, the server sends a chain of three: an
  EC P-256 leaf, an RSA-2048 intermediate, an RSA-3072 root whose notAfter (2118)
  is written as GeneralizedTime.
- tls12_dhe: DHE-RSA-AES128-GCM-SHA256 with the ffdhe2048 group (p of 256 bytes).
- tls12_big_record: the server answers with 16 KiB in one write: one application
  data record of 16,408 bytes (16,384 + GCM's nonce and tag), what an ESP8266 with a
  512-byte receive buffer cannot take.
- tls12_mfln: `openssl s_client -maxfraglen 512` (Python's ssl cannot send the
  extension): max_fragment_length 512 in the ClientHello, echoed by the server.
- tls12_zero_window: a client with a 2 KiB receive buffer that reads only after
  0.5 s while the server sends 64 KiB: the client advertises a zero window.
- The zero-window sample also holds a real retransmission: the kernel resent a
  segment while the window was closing (tshark flags it). No sample with a lost
  packet: that needs a lossy link (netem, a tc drop action or nftables), and none
  of those is available in this kernel (checked in a network namespace of our own).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from harness.analysis.wire import FIELDS  # noqa: E402
from harness.instruments import procs  # noqa: E402
from harness.instruments.capture import Capture, bpf_for_port  # noqa: E402
from harness.instruments.tshark import read_fields  # noqa: E402

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
DH_PARAMS = REPO / "harness" / "servers" / "ffdhe2048.pem"
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


# -- certificates ------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    not_after: datetime.datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _write(tmp: Path, name: str, certs: list[x509.Certificate], key: object) -> tuple[Path, Path]:
    cert_path, key_path = tmp / f"{name}.pem", tmp / f"{name}.key"
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    key_path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def make_cert(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    return _write(tmp, "self", [_issue("127.0.0.1", key, "127.0.0.1", key, later, ca=False)], key)


def make_chain(tmp: Path) -> tuple[Path, Path]:
    """Leaf (EC P-256) <- intermediate (RSA 2048) <- root (RSA 3072, until 2118)."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    root = _issue(
        "HIL Test Root",
        root_key,
        "HIL Test Root",
        root_key,
        datetime.datetime(2118, 5, 18, tzinfo=datetime.UTC),
        ca=True,
    )
    mid = _issue(
        "HIL Test Intermediate",
        mid_key,
        "HIL Test Root",
        root_key,
        now + datetime.timedelta(days=3650),
        ca=True,
    )
    leaf = _issue(
        "localhost",
        leaf_key,
        "HIL Test Intermediate",
        mid_key,
        now + datetime.timedelta(days=90),
        ca=False,
    )
    return _write(tmp, "chain", [leaf, mid, root], leaf_key)


# -- one sample ----------------------------------------------------------------------------


@dataclass
class Sample:
    name: str
    cert: tuple[Path, Path]
    client: Callable[[int], None]  # connects to 127.0.0.1:port and does its part
    ciphers: str = SERVER_CIPHERS
    curve: str | None = None
    dh: bool = False
    response: bytes = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def serve_once(listener: socket.socket, ctx: ssl.SSLContext, response: bytes) -> None:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            if tls.recv(1024):
                tls.sendall(response)
                tls.unwrap()  # close_notify: an encrypted alert on the wire
    except (ssl.SSLError, OSError):
        pass
    finally:
        conn.close()


def one_sample(sample: Sample) -> None:
    name = sample.name
    keylog = HERE / f"{name}.keylog"
    keylog.unlink(missing_ok=True)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*sample.cert)
    server_ctx.set_ciphers(sample.ciphers)
    if sample.curve:
        server_ctx.set_ecdh_curve(sample.curve)
    if sample.dh:
        server_ctx.load_dh_params(DH_PARAMS)
    server_ctx.keylog_filename = str(keylog)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    raw = Path(tempfile.mkdtemp()) / "raw.pcapng"
    with Capture(raw, bpf=bpf_for_port(port), log_path=raw.with_suffix(".log")):
        server = threading.Thread(target=serve_once, args=(listener, server_ctx, sample.response))
        server.start()
        sample.client(port)
        server.join()
    listener.close()
    pcap = HERE / f"{name}.pcapng"
    # Drop the filler datagrams (60 kB each), keep TCP and the small markers.
    procs.run(["tshark", "-r", raw, "-Y", "tcp or frame.len < 200", "-w", pcap], timeout=60).check(
        "trimming the sample", "see the output"
    )
    for keys, suffix in ((keylog, "fields.txt"), (None, "nokeys.fields.txt")):
        out = read_fields(
            pcap,
            keylog=keys,
            fields=FIELDS,
            display_filter="",
            log_path=None,
            timeout=60,
            tls_ports=(port,),
        )
        (HERE / f"{name}.{suffix}").write_text(out.text)
    (HERE / f"{name}.port").write_text(f"{port}\n")
    print(f"{name}: port {port}, {len(out.text.splitlines()) - 1} rows, partial={out.partial}")


# -- clients -------------------------------------------------------------------------------


def python_client(
    max_version: ssl.TLSVersion,
    ciphers: str | None = None,
    *,
    verify: bool = False,
    server_hostname: str = "localhost",
    rcvbuf: int | None = None,
    pause: float = 0.0,
) -> Callable[[int], None]:
    def run(port: int) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        # verify=True with no CA loaded: the client rejects the server's certificate.
        ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        ctx.maximum_version = max_version
        if ciphers:
            ctx.set_ciphers(ciphers)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect(("127.0.0.1", port))
        try:
            with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                time.sleep(pause)
                while tls.recv(65536):
                    pass
                tls.unwrap()
        except (ssl.SSLError, OSError) as exc:
            print(f"client saw {exc}")
        finally:
            sock.close()

    return run


def openssl_mfln_client(port: int) -> None:
    # stdin closed: s_client sends nothing after the handshake and closes.
    procs.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-tls1_2",
            "-servername",
            "localhost",
            "-maxfraglen",
            "512",
        ],
        timeout=20,
    )


# -- all samples ---------------------------------------------------------------------------


def samples(tmp: Path) -> list[Sample]:
    cert, chain = make_cert(tmp), make_chain(tmp)
    return [
        # By IP address, as the founding report's sketch connects: no SNI is sent.
        Sample(
            "tls12_no_shared_cipher",
            cert,
            python_client(TLS12, AXTLS_CIPHERS, server_hostname="127.0.0.1"),
        ),
        Sample("tls12_ok", cert, python_client(TLS12)),
        Sample("tls13_ok", cert, python_client(TLS13)),
        Sample("tls13_unknown_ca", cert, python_client(TLS13, verify=True)),
        Sample(
            "tls12_chain3",
            chain,
            python_client(TLS12),
            ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
            curve="secp384r1",
        ),
        Sample(
            "tls12_dhe", cert, python_client(TLS12), ciphers="DHE-RSA-AES128-GCM-SHA256", dh=True
        ),
        Sample(
            "tls12_big_record",
            cert,
            python_client(TLS12),
            response=b"HTTP/1.0 200 OK\r\n\r\n".ljust(16384, b"x"),
        ),
        Sample("tls12_mfln", cert, openssl_mfln_client),
        Sample(
            "tls12_zero_window",
            cert,
            python_client(TLS12, rcvbuf=2048, pause=0.5),
            response=bytes(64 * 1024),
        ),
    ]


def main(names: list[str]) -> None:
    for sample in samples(Path(tempfile.mkdtemp())):
        if not names or sample.name in names:
            one_sample(sample)


if __name__ == "__main__":
    main(sys.argv[1:])
