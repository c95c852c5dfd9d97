"""One line a firmware engineer reads for each event (pure)."""

from __future__ import annotations

from harness.model import Event
from harness.model.suites import suite_name
from harness.model.tls import version_name

# Handshake messages and records by their RFC names, as Wireshark shows them.
_WIRE_NAMES = {
    "certificate": "Certificate",
    "server_key_exchange": "ServerKeyExchange",
    "certificate_request": "CertificateRequest",
    "server_hello_done": "ServerHelloDone",
    "client_key_exchange": "ClientKeyExchange",
    "certificate_verify": "CertificateVerify",
    "change_cipher_spec": "ChangeCipherSpec",
    "finished": "Finished",
    "new_session_ticket": "NewSessionTicket",
    "encrypted_extensions": "EncryptedExtensions",
    "hello_request": "HelloRequest",
}


def describe(e: Event) -> str:
    """One line a firmware engineer reads: what this event says."""
    f = e.fields
    if e.kind == "client_hello":
        sni = f.get("sni")
        suites = ", ".join(suite_name(s) for s in f.get("suites", []))
        return f"ClientHello {version_name(f.get('version'))} sni={sni or '-'} suites=[{suites}]"
    if e.kind == "server_hello":
        return f"ServerHello {version_name(f.get('version'))} {suite_name(f.get('suite', 0))}"
    if e.kind == "alert":
        level = {1: "warning", 2: "fatal"}.get(f.get("level"), "encrypted")
        return f"Alert {level} {f.get('name')} ({f.get('description')})"
    if e.source.value == "wire" and e.kind.startswith("tcp_"):
        return e.kind[4:].upper().replace("SYNACK", "SYN-ACK")
    if e.source.value == "wire" and e.kind in _WIRE_NAMES:
        chain = f.get("chain")
        extra = f" ({len(chain)} cert{'s' if len(chain) != 1 else ''})" if chain else ""
        return _WIRE_NAMES[e.kind] + extra
    if e.source.value == "wire" and e.kind == "app_data":
        return f"ApplicationData {f.get('length', f.get('record_length', '?'))} B"
    if e.source.value == "server":
        details = " ".join(f"{k}={v}" for k, v in f.items() if k not in ("t", "event", "peer"))
        return f"{e.kind.removeprefix('server_')} {details}".strip()
    if e.text:
        return e.text
    return " ".join([e.kind, *(f"{k}={v}" for k, v in f.items())])
