"""sslyze over the profile servers: a scanner we did not write, reduced to the facts a
profile claims (versions and suites, groups, chain, resumption, stapling).

Each (profile, backend) pair is one job: start the server on 127.0.0.1, scan it with
only the commands needed, stop it. Jobs run in a thread pool (sslyze is threads and
sockets; each server takes its own connections), the whole pass under one deadline.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sslyze import (
    ClientAuthenticationCredentials,
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)

from harness.instruments.certs import CertBundle
from harness.instruments.servers import start_server
from harness.instruments.servers.profiles import TLS13_IDS, ServerProfile, TlsVersion

SUITE_COMMANDS = {
    TlsVersion.TLS1_0: ScanCommand.TLS_1_0_CIPHER_SUITES,
    TlsVersion.TLS1_1: ScanCommand.TLS_1_1_CIPHER_SUITES,
    TlsVersion.TLS1_2: ScanCommand.TLS_1_2_CIPHER_SUITES,
    TlsVersion.TLS1_3: ScanCommand.TLS_1_3_CIPHER_SUITES,
}
COMMANDS = frozenset(
    {
        *SUITE_COMMANDS.values(),
        ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.ELLIPTIC_CURVES,
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.SESSION_RESUMPTION,
    }
)
# sslyze names a curve by its ANSI X9.62 or SECG name; profiles use OpenSSL's.
_GROUP_NAMES = {"secp256r1": "prime256v1"}


@dataclass(frozen=True)
class ScanFacts:
    """What sslyze saw on one server, in the profile's vocabulary."""

    profile: str
    backend: str
    suites: dict[TlsVersion, frozenset[int]]  # accepted, by IANA number
    ssl3: bool  # any SSL 3.0 suite accepted
    groups: frozenset[str] | None  # None: no ECDHE key exchange at all
    chain: tuple[bytes, ...]  # DER, as received
    ocsp_stapled: bool
    session_id_resumed: tuple[int, int]  # (successful, attempted)
    ticket_resumed: tuple[int, int]
    seconds: float
    errors: tuple[str, ...] = field(default=())

    @property
    def versions(self) -> frozenset[TlsVersion]:
        return frozenset(v for v, suites in self.suites.items() if suites)


def _suite_ids() -> dict[str, int]:
    """OpenSSL suite name -> IANA number, for every suite this OpenSSL knows."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return {c["name"]: c["id"] & 0xFFFF for c in ctx.get_ciphers()} | TLS13_IDS


_IDS = _suite_ids()


def _request(profile: ServerProfile, bundle: CertBundle, host: str, port: int) -> ServerScanRequest:
    credentials = None
    if profile.client_auth.value != "none":
        assert bundle.client_cert_pem and bundle.client_key_pem
        credentials = ClientAuthenticationCredentials(
            certificate_chain_path=Path(bundle.client_cert_pem),
            key_path=Path(bundle.client_key_pem),
        )
    return ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=host, port=port, ip_address="127.0.0.1"),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=host,
            tls_client_auth_credentials=credentials,
            network_timeout=10,
            network_max_retries=2,
        ),
        scan_commands=set(COMMANDS),
    )


def scan_one(
    profile: ServerProfile, backend: str, bundle: CertBundle, host: str, run_dir: Path
) -> ScanFacts:
    """Start the pair's server, scan it, stop it (on every path)."""
    started = time.monotonic()
    server = start_server(profile, backend, bundle, "127.0.0.1", 0, run_dir)
    try:
        # A few connections at a time per server: the pool runs several servers at once.
        scanner = Scanner(
            per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=1
        )
        scanner.queue_scans([_request(profile, bundle, host, server.port)])
        (result,) = list(scanner.get_results())
    finally:
        server.stop()
    errors: list[str] = []
    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        trace = result.connectivity_error_trace
        return ScanFacts(
            profile.name, backend, {}, False, None, (), False, (0, 0), (0, 0),
            time.monotonic() - started,
            (f"not scanned: {result.connectivity_status}: {trace}",),
        )  # fmt: skip
    scan = result.scan_result

    def value(command: ScanCommand):
        attempt = getattr(scan, command.value)
        if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED:
            errors.append(f"{command.value}: {attempt.error_reason}: {attempt.error_trace}")
            return None
        return attempt.result

    suites: dict[TlsVersion, frozenset[int]] = {}
    for version, command in SUITE_COMMANDS.items():
        res = value(command)
        accepted = res.accepted_cipher_suites if res is not None else []
        suites[version] = frozenset(_IDS[s.cipher_suite.openssl_name] for s in accepted)
    ssl3 = value(ScanCommand.SSL_3_0_CIPHER_SUITES)
    curves = value(ScanCommand.ELLIPTIC_CURVES)
    groups = None
    if curves is not None and curves.supports_ecdh_key_exchange:
        groups = frozenset(_GROUP_NAMES.get(c.name, c.name) for c in curves.supported_curves or ())
    info = value(ScanCommand.CERTIFICATE_INFO)
    chain: tuple[bytes, ...] = ()
    stapled = False
    if info is not None:
        deployment = info.certificate_deployments[0]
        der = serialization.Encoding.DER
        chain = tuple(c.public_bytes(der) for c in deployment.received_certificate_chain)
        stapled = deployment.ocsp_response is not None
    resumption = value(ScanCommand.SESSION_RESUMPTION)
    session_id = ticket = (0, 0)
    if resumption is not None:
        session_id = (
            resumption.session_id_successful_resumptions_count,
            resumption.session_id_attempted_resumptions_count,
        )
        ticket = (
            resumption.tls_ticket_successful_resumptions_count,
            resumption.tls_ticket_attempted_resumptions_count,
        )
    return ScanFacts(
        profile=profile.name,
        backend=backend,
        suites=suites,
        ssl3=bool(ssl3 and ssl3.accepted_cipher_suites),
        groups=groups,
        chain=chain,
        ocsp_stapled=stapled,
        session_id_resumed=session_id,
        ticket_resumed=ticket,
        seconds=time.monotonic() - started,
        errors=tuple(errors),
    )


def scan_all(
    jobs: Sequence[tuple[str, str, Callable[[], ScanFacts]]], *, workers: int, deadline: float
) -> dict[tuple[str, str], ScanFacts]:
    """Run the jobs (profile, backend, job) in a pool; every one must end within
    `deadline` seconds, or a TimeoutError names those left."""
    until = time.monotonic() + deadline
    out: dict[tuple[str, str], ScanFacts] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[ScanFacts], tuple[str, str]] = {
            pool.submit(job): (name, backend) for name, backend, job in jobs
        }
        try:
            while pending:
                left = until - time.monotonic()
                done, _ = wait(pending, timeout=max(left, 0), return_when=FIRST_COMPLETED)
                if not done:
                    names = sorted(f"{n}@{b}" for n, b in pending.values())
                    raise TimeoutError(f"sslyze pass over {deadline} s; not done: {names}")
                for future in done:
                    out[pending.pop(future)] = future.result()
        finally:
            # Jobs not started are dropped; a started one stops its server when it ends.
            for future in pending:
                future.cancel()
    return out
