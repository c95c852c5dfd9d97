"""Packet capture (layer 3): dumpcap with a ready signal and a lossless stop
(dumpcap.py: the lifecycle; markers.py: the start/stop markers; sink.py: the pipe
copier; dumpcap_log.py: what dumpcap says), pcapng blocks and the filler filter
(pcapng.py), a ring of files for long sessions (ring.py), and where to capture a
scenario's traffic (target.py)."""

from harness.instruments.capture.dumpcap import (
    KERNEL_BLOCK_TIMEOUT,
    LOOPBACK_INTERFACES,
    Capture,
    CaptureResult,
    CaptureState,
)
from harness.instruments.capture.markers import MARKER_PREFIX
from harness.instruments.capture.ring import Ring
from harness.instruments.capture.target import (
    CaptureTarget,
    bpf_for_port,
    capture_target,
    interface_holding,
    interface_routing,
)

__all__ = [
    "KERNEL_BLOCK_TIMEOUT",
    "LOOPBACK_INTERFACES",
    "MARKER_PREFIX",
    "Capture",
    "CaptureResult",
    "CaptureState",
    "CaptureTarget",
    "Ring",
    "bpf_for_port",
    "capture_target",
    "interface_holding",
    "interface_routing",
]
