"""The diagnosis catalogue's cause names: data, so a scenario can be checked against
it without loading the rules."""

from __future__ import annotations

# The catalogue of DESIGN.md ("Diagnosis"); a cause outside it is a bug, not a finding.
CAUSES = frozenset(
    {
        "no_shared_cipher",
        "protocol_version",
        "untrusted_cert",
        "hostname_mismatch",
        "cert_time_invalid",
        "sni_required",
        "record_too_large",
        "dns_failed",
        "tcp_connect_failed",
        "handshake_timeout",
        "out_of_memory",
        "no_trust_method",
        "fingerprint_mismatch",
        "unknown",
    }
)
