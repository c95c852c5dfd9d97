"""Every server profile, on every backend it lists, proven by real clients.

For each (profile, backend) pair one server is started and these are shown with
`openssl s_client` and Python's `ssl`:

- the protocol versions accepted and refused;
- the cipher suites accepted, one handshake per suite per version, equal to
  OpenSSL's expansion of the profile's cipher string (`accepted_suites`);
- the certificate chain on the wire, in the order the profile says;
- SNI behaviour (missing, right, wrong name);
- whether a client certificate is demanded, and what happens without one;
- what a verifying client trusting the bundle's CA concludes;
- the HTTP answer (and for `response_bytes`, full-size records).

A backend registered in `harness.instruments.servers.BACKENDS` is covered as soon as a profile
lists it. Where the backends differ on purpose, the difference is asserted here too
(`CA_NAMES_SENT`); what a backend refuses is shown at the end. Handshakes run in
threads: the server handles each connection in its own thread (builtin, and apache's
event MPM), and OpenSSL releases the GIL.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.analysis.serverlog import parse_server_log
from harness.instruments import procs
from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.instruments.servers import BACKENDS, TlsServer, start_server
from harness.instruments.servers.profiles import (
    TLS13_IDS,
    TLS13_SUITES,
    ChainOrder,
    ClientAuth,
    ServerProfile,
    SniPolicy,
    TlsVersion,
    accepted_suites,
    list_profiles,
    load_profile,
    suite_usable_at,
)
from harness.model.errors import ConfigError
from harness.run.runner import BenchConfig

pytestmark = pytest.mark.integration

HOST = "hil.test"  # a name, so that Python sends it as SNI (it sends none for an IP)
WRONG_HOST = "other.invalid"
WORKERS = 8
ALL_SUITES = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"

CASES = [
    pytest.param((name, backend), id=f"{name}@{backend}")
    for name in list_profiles()
    for backend in load_profile(name).backends
    if backend in BACKENDS
]

# What a client with Debian's default OpenSSL settings, trusting the bundle's CA and
# checking the host name, concludes; every other profile verifies.
VERIFY_FAILS = {
    "expired": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid",
    "wrong-host": f"Hostname mismatch, certificate is not valid for '{HOST}'",
    "self-signed": "self-signed certificate",
    "untrusted-root": "unable to get local issuer certificate",
    "incomplete-chain": "unable to get local issuer certificate",
    "sha1-intermediate": "CA signature digest algorithm too weak",
    "rsa-1024": "EE certificate key too weak",
}

# Whether a backend's CertificateRequest names the acceptable client CAs: Python's ssl
# cannot set that list; Apache sends its SSLCACertificateFile's subjects.
CA_NAMES_SENT = {"builtin": False, "apache": True}

_SSL_VERSIONS = {
    TlsVersion.TLS1_0: ssl.TLSVersion.TLSv1,
    TlsVersion.TLS1_1: ssl.TLSVersion.TLSv1_1,
    TlsVersion.TLS1_2: ssl.TLSVersion.TLSv1_2,
    TlsVersion.TLS1_3: ssl.TLSVersion.TLSv1_3,
}
_S_CLIENT_FLAGS = {
    TlsVersion.TLS1_0: "-tls1",
    TlsVersion.TLS1_1: "-tls1_1",
    TlsVersion.TLS1_2: "-tls1_2",
    TlsVersion.TLS1_3: "-tls1_3",
}
_PY_VERSION_NAMES = {"TLSv1": "TLSv1.0"}


@dataclass(frozen=True)
class Case:
    profile: ServerProfile
    backend: str
    bundle: CertBundle
    server: TlsServer

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)

    @property
    def client(self) -> CertBundle | None:
        """The bundle whose client certificate to present, when the profile asks for one."""
        return self.bundle if self.profile.client_auth is not ClientAuth.NONE else None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    version: str | None = None
    cipher: str | None = None
    reason: str = ""  # OpenSSL's reason code, or the exception text
    verify_message: str = ""
    records: tuple[int, ...] = ()  # lengths of the application-data records read
    response: bytes = b""


@pytest.fixture(scope="module")
def bundle_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], CertBundle]:
    # Keys come from the bench's cache, so the RSA-8192 key is made once per machine.
    cache = BenchConfig().cache_dir / "keys"
    base = tmp_path_factory.mktemp("certs")
    made: dict[str, CertBundle] = {}

    def get(plan: str) -> CertBundle:
        if plan not in made:
            made[plan] = make_certs(get_plan(plan), HOST, base / plan, cache)
        return made[plan]

    return get


@pytest.fixture(scope="module", params=CASES)
def case(
    request: pytest.FixtureRequest,
    bundle_of: Callable[[str], CertBundle],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Case]:
    # Module scope and a parameter: pytest runs every test of one server together,
    # so one server runs at a time.
    name, backend = request.param
    profile = load_profile(name)
    bundle = bundle_of(profile.cert_plan)
    run_dir = tmp_path_factory.mktemp(f"{name}-{backend}")
    server = start_server(profile, backend, bundle, "127.0.0.1", 0, run_dir)
    try:
        yield Case(profile, backend, bundle, server)
    finally:
        server.stop()


# -- clients ---------------------------------------------------------------------------------


def py_connect(
    address: tuple[str, int],
    *,
    version: TlsVersion | None = None,
    versions: Sequence[TlsVersion] = (),
    ciphers: str | None = ALL_SUITES,
    sni: str | None = HOST,
    client: CertBundle | None = None,
    verify: CertBundle | None = None,
    request: bool = False,
) -> Outcome:
    """One connection with Python's ssl. `verify`: trust that bundle's CA and check the
    host name, at the system's default security level (unless `ciphers` says otherwise)."""
    if verify is not None:
        ctx = ssl.create_default_context(cafile=str(verify.ca_pem))
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    span = [version] if version else list(versions)
    if span:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = _SSL_VERSIONS[min(span, key=lambda v: v.rank)]
            ctx.maximum_version = _SSL_VERSIONS[max(span, key=lambda v: v.rank)]
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if client is not None:
        assert client.client_cert_pem and client.client_key_pem
        ctx.load_cert_chain(client.client_cert_pem, client.client_key_pem)
    records: list[int] = []

    def on_message(_c: Any, direction: str, _v: Any, content_type: int, _m: Any, data: bytes):
        if direction == "read" and content_type == 256 and data[:1] == b"\x17":
            records.append(int.from_bytes(data[3:5], "big"))

    ctx._msg_callback = on_message  # CPython's hook onto SSL_CTX_set_msg_callback
    try:
        with (
            socket.create_connection(address, timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=sni) as tls,
        ):
            version_name = tls.version() or ""
            cipher = (tls.cipher() or ("",))[0]
            response = b""
            if request:
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
                while chunk := tls.recv(65536):
                    response += chunk
        return Outcome(
            True,
            _PY_VERSION_NAMES.get(version_name, version_name),
            cipher,
            records=tuple(records),
            response=response,
        )
    except ssl.SSLCertVerificationError as exc:
        return Outcome(False, reason=exc.reason or "", verify_message=exc.verify_message or "")
    except ssl.SSLError as exc:
        return Outcome(False, reason=exc.reason or str(exc))
    except OSError as exc:  # a reset after the server's alert
        return Outcome(False, reason=f"{type(exc).__name__}: {exc}")


def s_client(case: Case, *args: str) -> procs.RunResult:
    """`openssl s_client` against the case's server; stdin is closed, so it ends after the
    handshake (and what the server sends at once)."""
    openssl = procs.which("openssl", package="openssl")
    cmd = [openssl, "s_client", "-connect", "{}:{}".format(*case.address), *args]
    if case.client is not None and "-cert" not in args:
        assert case.client.client_cert_pem and case.client.client_key_pem
        cmd += ["-cert", str(case.client.client_cert_pem), "-key", str(case.client.client_key_pem)]
    return procs.run(cmd, timeout=20)


def s_client_ok(result: procs.RunResult) -> str | None:
    """The suite s_client negotiated, or None when the handshake failed."""
    match = re.search(r"^New, (\S+), Cipher is (\S+)", result.output, re.MULTILINE)
    if result.returncode != 0 or not match or match.group(2) == "(NONE)":
        return None
    return match.group(2)


T = TypeVar("T")


def parallel(jobs: Iterable[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda job: job(), list(jobs)))


def candidate_suites(version: TlsVersion) -> list[tuple[int, str]]:
    """Every TLS 1.2-and-below suite this OpenSSL can offer at `version` (no PSK/SRP:
    a client without those callbacks never offers them)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers(ALL_SUITES)
    return [
        (c["id"] & 0xFFFF, c["name"])
        for c in ctx.get_ciphers()
        if suite_usable_at(c["protocol"], version)
        and "psk" not in c["kea"]
        and "srp" not in c["kea"]
    ]


# -- the proofs ------------------------------------------------------------------------------


def test_protocol_versions(case: Case) -> None:
    served = set(case.profile.versions)
    py = parallel(
        (lambda v=v: py_connect(case.address, version=v, client=case.client)) for v in TlsVersion
    )
    openssl = parallel(
        (lambda v=v: s_client(case, _S_CLIENT_FLAGS[v], "-servername", HOST, "-cipher", ALL_SUITES))
        for v in TlsVersion
    )
    for v, outcome, result in zip(TlsVersion, py, openssl, strict=True):
        if v in served:
            assert outcome.ok and outcome.version == v.value, (v, outcome)
            assert s_client_ok(result), (v, result.output[-600:])
            # TLS 1.3: the session (with its Protocol line) comes later, with a ticket.
            shown = {
                TlsVersion.TLS1_0: r"Protocol\s*:\s*TLSv1",
                TlsVersion.TLS1_3: r"New, TLSv1\.3,",
            }
            pattern = shown.get(v, rf"Protocol\s*:\s*{re.escape(v.value)}")
            assert re.search(rf"^\s*{pattern}\s*($|Cipher)", result.output, re.M), result.output
        else:
            assert not outcome.ok, (v, outcome)
            assert "PROTOCOL" in outcome.reason or "NO_CIPHERS" in outcome.reason, outcome
            assert s_client_ok(result) is None, (v, result.output[-600:])


def test_cipher_suites_equal_the_expansion_of_the_cipher_string(case: Case) -> None:
    profile = case.profile
    jobs: list[tuple[TlsVersion, int, Callable[[], Any]]] = []
    for v in profile.versions:
        if v is TlsVersion.TLS1_3:
            for name in TLS13_SUITES:
                args = ("-tls1_3", "-ciphersuites", name, "-servername", HOST)
                jobs.append((v, TLS13_IDS[name], lambda a=args: s_client(case, *a)))
            continue
        for suite_id, name in candidate_suites(v):
            jobs.append(
                (
                    v,
                    suite_id,
                    lambda v=v, n=name: py_connect(
                        case.address, version=v, ciphers=f"{n}:@SECLEVEL=0", client=case.client
                    ),
                )
            )
    results = parallel(job for _, _, job in jobs)
    accepted: dict[TlsVersion, set[int]] = {v: set() for v in profile.versions}
    names = {i: n for v in TlsVersion for i, n in candidate_suites(v)} | {
        i: n for n, i in TLS13_IDS.items()
    }
    for (v, suite_id, _), result in zip(jobs, results, strict=True):
        if isinstance(result, Outcome):
            if result.ok:
                assert result.version == v.value and result.cipher == names[suite_id], result
                accepted[v].add(suite_id)
        elif (cipher := s_client_ok(result)) is not None:
            assert cipher == names[suite_id], result.output[-400:]
            accepted[v].add(suite_id)
    for v in profile.versions:
        expected = set(accepted_suites(profile, v))
        got = accepted[v]
        assert got == expected, (
            f"{v.value}: served but not expected {sorted(names[i] for i in got - expected)}; "
            f"expected but refused {sorted(names[i] for i in expected - got)}"
        )
    assert set().union(*accepted.values()) == set(accepted_suites(profile))


def test_chain_served(case: Case) -> None:
    result = s_client(case, "-showcerts", "-servername", HOST, "-cipher", ALL_SUITES)
    assert s_client_ok(result), result.output[-600:]
    served = [
        x509.load_pem_x509_certificate(block.encode())
        for block in re.findall(
            r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", result.output, re.DOTALL
        )
    ]
    leaf = x509.load_der_x509_certificate(case.bundle.cert_der.read_bytes())
    intermediates = [
        x509.load_pem_x509_certificate(p.read_bytes()) for p in case.bundle.issuer_pems[1:]
    ]  # root side first
    expected = {
        ChainOrder.FULL: [leaf, *reversed(intermediates)],
        ChainOrder.INCOMPLETE: [leaf],
        ChainOrder.REVERSED: [leaf, *intermediates],
    }[case.profile.chain]
    der = serialization.Encoding.DER
    assert [c.public_bytes(der) for c in served] == [c.public_bytes(der) for c in expected], [
        c.subject.rfc4514_string() for c in served
    ]


def test_sni(case: Case) -> None:
    right, missing, wrong = parallel(
        (
            lambda s=s: py_connect(
                case.address, versions=case.profile.versions, sni=s, client=case.client
            )
        )
        for s in (HOST, None, WRONG_HOST)
    )
    assert right.ok, right
    if case.profile.sni is SniPolicy.STRICT:
        for outcome in (missing, wrong):
            assert not outcome.ok and outcome.reason == "TLSV1_UNRECOGNIZED_NAME", outcome
        result = s_client(case, "-noservername", "-cipher", ALL_SUITES)
        assert s_client_ok(result) is None
        assert "SSL alert number 112" in result.output, result.output[-600:]
    else:
        assert missing.ok and wrong.ok, (missing, wrong)


def test_client_certificate_demand(case: Case) -> None:
    demand = case.profile.client_auth
    result = s_client(case, "-msg", "-servername", HOST, "-cipher", ALL_SUITES)
    assert ("CertificateRequest" in result.output) == (demand is not ClientAuth.NONE), (
        result.output[-800:]
    )
    if demand is not ClientAuth.NONE:
        names = "Acceptable client certificate CA names"
        assert (names in result.output) == CA_NAMES_SENT[case.backend], result.output[-800:]
    without = py_connect(case.address, versions=case.profile.versions, request=True)
    if demand is ClientAuth.REQUIRED:
        # TLS 1.3: the client's handshake ends before the server checks; the refusal
        # (certificate_required) comes with the first read.
        assert not without.ok and "CERTIFICATE" in without.reason, without
        with_cert = py_connect(
            case.address, versions=case.profile.versions, client=case.bundle, request=True
        )
        assert with_cert.ok and with_cert.response.startswith(b"HTTP/1.1 200 "), with_cert
    else:
        assert without.ok and without.response.startswith(b"HTTP/1.1 200 "), without


def test_what_a_verifying_client_concludes(case: Case) -> None:
    profile = case.profile
    # OpenSSL's default suites (Python's own default has no static RSA) at the system's
    # security level; TLS 1.0/1.1-only servers are out of reach at that level.
    old_only = profile.max_protocol.rank < TlsVersion.TLS1_2.rank
    ciphers = "DEFAULT:@SECLEVEL=0" if old_only else "DEFAULT"
    outcome = py_connect(
        case.address,
        versions=profile.versions,
        ciphers=ciphers,
        client=case.client,
        verify=case.bundle,
    )
    expected = VERIFY_FAILS.get(profile.name)
    if expected is None:
        assert outcome.ok, outcome
    else:
        assert not outcome.ok and outcome.verify_message.startswith(expected), outcome


def test_http_response(case: Case) -> None:
    outcome = py_connect(
        case.address, versions=case.profile.versions, client=case.client, request=True
    )
    assert outcome.ok, outcome
    head, _, body = outcome.response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines)}
    assert status == "HTTP/1.1 200 OK"
    for name, value in case.profile.headers:
        assert headers[name.lower()] == value
    assert int(headers["content-length"]) == len(body)
    if case.profile.response_bytes is not None:
        assert len(body) == case.profile.response_bytes
        # A record carries at most 2^14 plaintext bytes; a full one is longer than that
        # on the wire (AEAD tag, TLS 1.3 inner type).
        assert max(outcome.records) > 16384, outcome.records


def _session_client(case: Case, version: TlsVersion) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = _SSL_VERSIONS[version]
    ctx.set_ciphers(ALL_SUITES)
    if case.client is not None:
        assert case.client.client_cert_pem and case.client.client_key_pem
        ctx.load_cert_chain(case.client.client_cert_pem, case.client.client_key_pem)
    return ctx


def _wait_closed(case: Case, peer_port: int, timeout: float = 5.0) -> None:
    """Until the server's log shows the connection from `peer_port` closed (apache's is
    rewritten from Apache's own logs every 50 ms)."""
    deadline = time.monotonic() + timeout
    log = case.server.server_log
    while True:
        events = parse_server_log(log.read_text()) if log.exists() else []
        closed = (e for e in events if e.kind == "server_closed")
        if any(e.fields.get("peer_port") == peer_port for e in closed):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{log}: the connection from port {peer_port} not closed in {timeout} s")
        time.sleep(0.02)


def _resumes(case: Case, version: TlsVersion) -> bool:
    """One connection closed without close_notify, then one offering its session."""
    ctx = _session_client(case, version)
    with (
        socket.create_connection(case.address, timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        if version is TlsVersion.TLS1_3:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            while tls.recv(65536):
                pass
            assert tls.session is not None and tls.session.has_ticket, case.backend
        session = tls.session
        port = tls.getsockname()[1]
    assert session is not None, version
    # Offered before the server has put the session in its cache (it does so right
    # after sending its Finished, in the thread of that connection), it would draw a
    # full handshake: a race no board wins or loses. Wait for that connection's end.
    _wait_closed(case, port)
    with (
        socket.create_connection(case.address, timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=HOST, session=session) as again,
    ):
        return again.session_reused


def test_sessions_resume_after_a_close_without_close_notify(case: Case) -> None:
    """An ESP8266 BearSSL client never sends close_notify: it closes the socket. Python's
    `close()` does the same (no SSL_shutdown). The next connection offers the session
    and must resume, at every version the profile serves: TLS 1.0-1.2 by session ID
    (or ticket), after a handshake-only connection; TLS 1.3 by the tickets both backends
    send after the handshake (stateful ones when tickets are off, as Apache sends them),
    read with a request's answer."""
    for version in case.profile.versions:
        if case.backend == "tlslite":
            # tlslite-ng marks a session not resumable when its connection ends without
            # close_notify (as RFC 2246 asked; measured: resumes after a clean close
            # only). A known difference (README): a board's next connection is a full one.
            assert not _resumes(case, version), version
        elif version is TlsVersion.TLS1_3 and not case.profile.session_tickets:
            # A stateful TLS 1.3 ticket lives in the server's session cache; OpenSSL's
            # internal one (builtin) misses about one resumption in 60 here, Apache's
            # shmcb cache none in 180 (README); on a loaded machine two misses in a row
            # were seen once. Up to five fresh sessions: one must resume.
            assert any(_resumes(case, version) for _ in range(5)), case.backend
        else:
            assert _resumes(case, version), (version, case.backend)


# -- what the builtin backend refuses --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"chain": ChainOrder.REVERSED}, "chain", "needs 2 intermediate"),
        ({"client_auth": ClientAuth.REQUIRED}, "client_auth", "client CA"),
    ],
)
def test_builtin_refuses_what_it_cannot_serve(
    tmp_path, bundle_of: Callable[[str], CertBundle], change: dict, key: str, words: str
) -> None:
    profile = dataclasses.replace(load_profile("tls1.3-only"), **change)
    bundle = bundle_of("founding-report-fixed")  # self-signed: no intermediates, no client CA
    with pytest.raises(ConfigError) as info:
        start_server(profile, "builtin", bundle, "127.0.0.1", 0, tmp_path)
    assert f"key {key!r}" in info.value.what and words in str(info.value)
    assert info.value.fix
    assert not (tmp_path / "builtin-server.json").exists()  # refused before starting


# -- what the apache backend refuses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "change", "key", "words"),
    [
        ("sni-strict", {}, "sni", "unrecognized_name"),
        ("large-records", {}, "response_bytes", "8192 bytes per TLS record"),
        ("tls1.3-only", {"chain": ChainOrder.REVERSED}, "chain", "needs 2 intermediate"),
        ("tls1.3-only", {"client_auth": ClientAuth.OPTIONAL}, "client_auth", "client CA"),
    ],
)
def test_apache_refuses_what_it_cannot_serve(
    tmp_path, bundle_of: Callable[[str], CertBundle], name: str, change: dict, key: str, words: str
) -> None:
    profile = dataclasses.replace(load_profile(name), backends=("apache",), **change)
    bundle = bundle_of("founding-report-fixed")  # self-signed: no intermediates, no client CA
    with pytest.raises(ConfigError) as info:
        start_server(profile, "apache", bundle, "127.0.0.1", 0, tmp_path)
    assert f"key {key!r}" in info.value.what and words in str(info.value)
    assert info.value.fix
    assert not (tmp_path / "apache.conf").exists()  # refused before starting


# The OpenSSL backends: tlslite refuses TLS 1.3 profiles (tlslite_backend.tlslite_settings).
@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - {"tlslite"}))
def test_tls13_suites_in_the_servers_order_and_a_list_of_curves(
    tmp_path, bundle_of: Callable[[str], CertBundle], backend: str
) -> None:
    """Apache sets them with SSLCipherSuite TLSv1.3 and SSLOpenSSLConfCmd Curves, the
    builtin backend through its OPENSSL_CONF (Python's ssl has no call for either)."""
    profile = dataclasses.replace(
        load_profile("tls1.3-only"),
        backends=(backend,),
        tls13_ciphersuites=("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
        honor_cipher_order=True,
        curves=("secp384r1", "X25519"),
    )
    bundle = bundle_of("founding-report-fixed")
    server = start_server(profile, backend, bundle, "127.0.0.1", 0, tmp_path)
    try:
        case = Case(profile, backend, bundle, server)
        runs = {
            # The client prefers AES-256 (OpenSSL's default order); the server's order wins.
            "default": ("-servername", HOST),
            "aes256": ("-ciphersuites", "TLS_AES_256_GCM_SHA384"),
            "secp384r1": ("-groups", "secp384r1"),
            "x25519": ("-groups", "X25519"),
            "p256": ("-groups", "prime256v1"),
        }
        results = dict(
            zip(
                runs, parallel((lambda a=a: s_client(case, *a)) for a in runs.values()), strict=True
            )
        )
    finally:
        server.stop()
    assert s_client_ok(results["default"]) == "TLS_AES_128_GCM_SHA256"
    assert s_client_ok(results["aes256"]) is None
    assert "Server Temp Key: ECDH, secp384r1" in results["secp384r1"].output
    assert "Server Temp Key: X25519" in results["x25519"].output
    assert s_client_ok(results["p256"]) is None
