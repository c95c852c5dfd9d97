"""Every server profile on every backend it lists, scanned by sslyze: a scanner we did
not write checks what each profile declares.

For each (profile, backend) pair: the protocol versions and, per version, the cipher
suites accepted (equal to `accepted_suites`, OpenSSL's expansion of the profile's
string for its key and DH), SSL 3.0 refused, the ECDHE groups (`profile.groups`), the
chain as received (in the profile's order), session resumption (by session ID, and by
ticket exactly when `session_tickets` is on) and OCSP stapling (none: see the README).

Only the scan commands these need run; the pairs are scanned in parallel (a server
each, a few connections per server), the whole pass under one deadline. sslyze only
ever dials 127.0.0.1 (an IP address is given, so no name is resolved).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.instruments.servers import BACKENDS
from harness.instruments.servers.profiles import (
    ChainOrder,
    ServerProfile,
    TlsVersion,
    accepted_suites,
    list_profiles,
    load_profile,
)
from harness.run.runner import BenchConfig
from tests.integration.scanning import ScanFacts, scan_all, scan_one

pytestmark = pytest.mark.integration

HOST = "hil.test"
WORKERS = 6  # servers scanned at once; each takes 4 connections at a time
DEADLINE = 480.0  # seconds for the whole pass (85 s measured on 2 cores shared with others)

PAIRS = [
    (name, backend)
    for name in list_profiles()
    for backend in load_profile(name).backends
    if backend in BACKENDS
]


def _ecdhe_suites() -> frozenset[int]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return frozenset(c["id"] & 0xFFFF for c in ctx.get_ciphers() if c["kea"] == "kx-ecdhe")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertBundle]:
    cache = BenchConfig().cache_dir / "keys"  # the RSA-8192 key is made once per machine
    base = tmp_path_factory.mktemp("scan-certs")
    plans = sorted({load_profile(name).cert_plan for name, _ in PAIRS})
    return {plan: make_certs(get_plan(plan), HOST, base / plan, cache) for plan in plans}


@pytest.fixture(scope="module")
def scans(
    bundles: dict[str, CertBundle], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], ScanFacts]:
    base = tmp_path_factory.mktemp("scans")

    def job(profile: ServerProfile, backend: str, run_dir: Path):
        return lambda: scan_one(profile, backend, bundles[profile.cert_plan], HOST, run_dir)

    jobs = []
    for name, backend in PAIRS:
        profile = load_profile(name)
        jobs.append((name, backend, job(profile, backend, base / f"{name}-{backend}")))
    return scan_all(jobs, workers=WORKERS, deadline=DEADLINE)


def groups_seen(profile: ServerProfile) -> frozenset[str] | None:
    """The groups a client offering one group at a time gets: `profile.groups`, but at
    TLS 1.2 and below an ECDSA certificate's own curve must be among the client's groups
    (RFC 8422 5.1; OpenSSL enforces it), so with such a certificate and no TLS 1.3 only
    that curve shows. None when no ECDHE key exchange is served at all."""
    tls13 = TlsVersion.TLS1_3 in profile.versions
    if not tls13 and not set(accepted_suites(profile)) & _ecdhe_suites():
        return None
    plan = get_plan(profile.cert_plan)
    if plan.key_type == "ecdsa" and not tls13:
        own = {256: "prime256v1", 384: "secp384r1"}[plan.key_size]
        return frozenset(profile.groups) & {own}
    return frozenset(profile.groups)


def expected_chain(profile: ServerProfile, bundle: CertBundle) -> list[bytes]:
    leaf = x509.load_der_x509_certificate(bundle.cert_der.read_bytes())
    intermediates = [x509.load_pem_x509_certificate(p.read_bytes()) for p in bundle.issuer_pems[1:]]
    chain = {
        ChainOrder.FULL: [leaf, *reversed(intermediates)],
        ChainOrder.INCOMPLETE: [leaf],
        ChainOrder.REVERSED: [leaf, *intermediates],
    }[profile.chain]
    return [c.public_bytes(serialization.Encoding.DER) for c in chain]


# The first test carries the module fixture's pass: more than the suite's 300 s per test.
@pytest.mark.timeout(DEADLINE + 60)
@pytest.mark.parametrize("pair", PAIRS, ids=[f"{n}@{b}" for n, b in PAIRS])
def test_sslyze_sees_what_the_profile_declares(
    pair: tuple[str, str],
    scans: dict[tuple[str, str], ScanFacts],
    bundles: dict[str, CertBundle],
) -> None:
    profile = load_profile(pair[0])
    facts = scans[pair]
    assert facts.errors == ()
    names = {v: v.value for v in TlsVersion}
    assert {names[v] for v in facts.versions} == {names[v] for v in profile.versions}
    assert not facts.ssl3
    for version in TlsVersion:
        expected = set(accepted_suites(profile, version))
        got = set(facts.suites[version])
        assert got == expected, (
            f"{version.value}: served, not declared {sorted(hex(s) for s in got - expected)}; "
            f"declared, not served {sorted(hex(s) for s in expected - got)}"
        )
    assert facts.groups == groups_seen(profile)
    assert list(facts.chain) == expected_chain(profile, bundles[profile.cert_plan])
    if any(v is not TlsVersion.TLS1_3 for v in profile.versions):
        # sslyze reconnects at once, sometimes before the server has cached the
        # session it just made (a race no board runs: test_profile_proofs shows each
        # resumption deterministically); one resumed session shows the cache works.
        resumed, attempted = facts.session_id_resumed
        if pair[1] == "tlslite":
            # tlslite-ng resumes only a session closed with close_notify (README;
            # test_tlslite_server shows both cases). sslyze's closes race with it: 0 of 5
            # resumed on this machine, 1 of 5 in a CI run. Never all, as OpenSSL does.
            assert attempted and resumed < attempted, facts.session_id_resumed
        else:
            assert attempted and resumed > 0, facts.session_id_resumed
        tickets, _ = facts.ticket_resumed
        assert (tickets > 0) == profile.session_tickets, facts.ticket_resumed
    # No profile staples OCSP (README, "OCSP stapling"): none of the boards asks for it.
    assert not facts.ocsp_stapled
