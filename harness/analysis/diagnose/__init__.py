"""Timeline -> Diagnosis: the cause catalogue of DESIGN.md, a rule per cause (pure).

The rules live by subject (handshake, certificates, transport) and register
themselves with the engine on import.
"""

from harness.analysis.diagnose import certificates, handshake, transport  # noqa: F401  (registration)
from harness.analysis.diagnose.engine import CAUSES, Context, Finding, connected, diagnose, rules

__all__ = ["CAUSES", "Context", "Finding", "connected", "diagnose", "rules"]
