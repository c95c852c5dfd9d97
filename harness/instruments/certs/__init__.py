"""Certificates for the test server, made with `cryptography` (a layer-3 adapter):
plans (what to make), issuing (make_certs), exports (C headers), the key cache."""

from harness.instruments.certs.exports import (
    CLIENT_HEADER_NAME,
    HEADER_NAME,
    HEADER_SYMBOL,
    PEM_HEADER_NAME,
    PEM_HEADER_SYMBOL,
    render_c_header,
    render_c_string_header,
)
from harness.instruments.certs.issue import CertBundle, make_certs
from harness.instruments.certs.keys import key_cache_path
from harness.instruments.certs.plans import (
    CLIENT_CA,
    HIL_INTERMEDIATE,
    HIL_ROOT,
    PLANS,
    TIME_T_SAFE_END,
    CaSpec,
    CertPlan,
    ChainOrder,
    TrustAnchor,
    get_plan,
    list_plans,
)

__all__ = [
    "CLIENT_CA",
    "CLIENT_HEADER_NAME",
    "HEADER_NAME",
    "HEADER_SYMBOL",
    "HIL_INTERMEDIATE",
    "HIL_ROOT",
    "PEM_HEADER_NAME",
    "PEM_HEADER_SYMBOL",
    "PLANS",
    "TIME_T_SAFE_END",
    "CaSpec",
    "CertBundle",
    "CertPlan",
    "ChainOrder",
    "TrustAnchor",
    "get_plan",
    "key_cache_path",
    "list_plans",
    "make_certs",
    "render_c_header",
    "render_c_string_header",
]
