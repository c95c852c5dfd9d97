"""What a user's sketch hard-codes, read from its source (pure).

People post the sketch that shows their regression: its server is a host name or an
IP literal in a string, a URL or an `IPAddress(...)`, its port a number beside it, its
trust a PEM block, a SHA-1/SHA-256 fingerprint (a hex string or a byte array) or
nothing. The harness maps those addresses and ports to the run's server, issues the
run's certificate for the host name and says what the sketch pins; for that it needs
these facts, not a C++ compiler: this is a small scanner over comments, string
literals (ordinary, adjacent and raw) and a few call shapes, and it errs towards
reporting nothing over guessing (an address it misses is refused by the twin's guard
with a HIL:REFUSED line, which names it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

SOURCE_SUFFIXES = (".ino", ".pde", ".cpp", ".h", ".hpp", ".c")
SCENARIO_HEADER = "hil_scenario.h"

# A host name as sketches write it: labels of letters, digits and '-', at least one dot,
# a last label of letters (so "1.2.3" or "WiFi.h" are not hosts: see _NOT_HOST_SUFFIXES).
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}"
_HOST_RE = re.compile(rf"^{_HOST}$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_URL_RE = re.compile(r"^(https?)://(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?")
# Source file names and the like that match the host shape.
_NOT_HOST_SUFFIXES = (".h", ".hpp", ".c", ".cpp", ".ino", ".txt", ".json", ".html", ".bin")
# Calls whose string arguments are never a server the sketch dials.
_NOT_SERVER_CALLS = re.compile(
    r"\b(?:WiFi\.begin|wifiMulti\.addAP|\w*\.addAP|configTime|configTzTime|sntp_setservername"
    r"|setHostname|hostname|MDNS\.begin|print|println|printf)\s*\($"
)
# Variables whose value is never a server: the network's name and password, NTP servers.
_NOT_SERVER_NAMES = re.compile(r"(?i)(ssid|pass|pwd|psk|ntp|sntp|tz|user|agent)")
_PORT_NAMES = re.compile(r"(?i)port")
_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)
# 20 (SHA-1) or 32 (SHA-256) bytes as hex pairs, separated by ' ', ':' or nothing.
_HEX_FP_RE = re.compile(
    r"^[0-9A-Fa-f]{2}(?:[ :]?[0-9A-Fa-f]{2}){19}(?:(?:[ :]?[0-9A-Fa-f]{2}){12})?$"
)
_BYTE_ARRAY_RE = re.compile(
    r"\b(?:const\s+)?(?:uint8_t|unsigned\s+char|char|byte)\s+(\w+)\s*\[\s*\d*\s*\]"
    r"\s*(?:PROGMEM\s*)?=\s*\{([^}]*)\}"
)
_IPADDRESS_RE = re.compile(
    r"\bIPAddress\s*(\w*)\s*[({]\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*[)}]"
)
_NUMBER_DEF_RE = re.compile(
    r"(?:\b(?:const\s+)?(?:u?int(?:16_t|32_t)?|unsigned\s+(?:int|short)|short|uint16_t|word|long)"
    r"\s+(\w+)\s*=\s*(\d+)\s*;)|(?:#define\s+(\w+)\s+(\d+)\b)"
)
_STRING_DEF_RE = re.compile(
    r"(?:\b(?:const\s+)?(?:char\s*\*\s*(?:const\s+)?|char\s+|String\s+)(\w+)\s*(?:\[\s*\d*\s*\])?"
    r"\s*(?:PROGMEM\s*)?=\s*$)|(?:#define\s+(\w+)\s+$)"
)
_CONNECT_RE = re.compile(r"\.connect\s*\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)")
# HTTPClient's begin(client, url) / begin(url): the URL (a literal or a variable).
_BEGIN_RE = re.compile(r"\.begin\s*\(\s*(?:[*&]?\w+\s*,\s*)?(\"[^\"]*\"|[A-Za-z_]\w*)")


@dataclass(frozen=True)
class Literal:
    """One string literal (adjacent literals joined) and the code just before it."""

    text: str
    before: str  # the code on its line before it (comments removed), for context
    offset: int  # where it starts in the comment-free source


@dataclass(frozen=True)
class Fingerprint:
    algorithm: str  # "sha1" or "sha256"
    hex: str  # lowercase, no separators
    written: str  # as the sketch writes it


@dataclass(frozen=True)
class SketchFacts:
    """What a sketch hard-codes: its servers, ports, pinned certificates and fingerprints."""

    hosts: tuple[str, ...] = ()  # host names it holds, in order of appearance
    ips: tuple[str, ...] = ()  # IPv4 literals it dials (strings and IPAddress(...))
    ports: tuple[int, ...] = ()  # ports it dials (URLs without one: 443/80)
    pems: tuple[str, ...] = ()  # PEM blocks (certificates, keys), whole
    fingerprints: tuple[Fingerprint, ...] = ()
    uses_scenario_header: bool = False  # includes hil_scenario.h: a harness sketch
    # The addresses its connect()/begin() calls name (directly or by a variable), in
    # call order: the server, when it also holds other names (an NTP pool, a link).
    dialed: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address it dials: host names first, then IP literals."""
        return self.hosts + self.ips

    @property
    def server_name(self) -> str | None:
        """The name its server certificate must carry: the first address a connect() or
        begin() names, else the first host name, else the first IP literal, else None."""
        return (self.dialed or self.hosts or self.ips or (None,))[0]

    @property
    def certificates(self) -> tuple[str, ...]:
        return tuple(p for p in self.pems if "BEGIN CERTIFICATE" in p)


def strip_comments(source: str) -> str:
    """`source` with // and /* */ comments blanked (same length, newlines kept), string
    and character literals untouched."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "R" and source.startswith('R"', i) and (i == 0 or not source[i - 1].isalnum()):
            m = re.match(r'R"([^()\\\s]{0,16})\(', source[i:])
            if m:
                end = source.find(f'){m.group(1)}"', i + m.end())
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append(source[i:end])
                i = end
                continue
        if c in "\"'":
            j = i + 1
            while j < n and source[j] != c and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            out.append(source[i : j + 1])
            i = j + 1
            continue
        if source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in source[i:j]))
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


_ADJACENT = re.compile(r"(?:\s|\\\n)*")
_LITERAL_RE = re.compile(
    r'R"(?P<d>[^()\\\s]{0,16})\((?P<raw>.*?)\)(?P=d)"|"(?P<s>(?:[^"\\\n]|\\.)*)"', re.DOTALL
)


def literals(code: str) -> list[Literal]:
    """The string literals of comment-free `code`; adjacent ones ("a" "b") joined."""
    found: list[Literal] = []
    last_end = -1
    for m in _LITERAL_RE.finditer(code):
        text = m.group("raw") if m.group("raw") is not None else _unescape(m.group("s"))
        # Only blanks (and backslash-newline continuations) between: one literal.
        if found and _ADJACENT.fullmatch(code[last_end : m.start()]):
            prev = found[-1]
            found[-1] = Literal(prev.text + text, prev.before, prev.offset)
        else:
            line_start = code.rfind("\n", 0, m.start()) + 1
            found.append(Literal(text, code[line_start : m.start()], m.start()))
        last_end = m.end()
    return found


def _is_ipv4(text: str) -> bool:
    if not _IPV4_RE.match(text):
        return False
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_host(text: str) -> bool:
    return bool(_HOST_RE.match(text)) and not text.lower().endswith(_NOT_HOST_SUFFIXES)


def _fingerprint(written: str) -> Fingerprint | None:
    if not _HEX_FP_RE.match(written.strip()):
        return None
    digits = re.sub(r"[ :]", "", written.strip()).lower()
    algorithm = {40: "sha1", 64: "sha256"}.get(len(digits))
    return Fingerprint(algorithm, digits, written) if algorithm else None


def _byte_array_fingerprints(code: str) -> list[Fingerprint]:
    out = []
    for m in _BYTE_ARRAY_RE.finditer(code):
        items = [x.strip() for x in m.group(2).split(",") if x.strip()]
        hexes = all(re.match(r"^0[xX][0-9A-Fa-f]{1,2}$", x) for x in items)
        if len(items) not in (20, 32) or not hexes:
            continue
        digits = "".join(f"{int(x, 16):02x}" for x in items)
        out.append(Fingerprint("sha1" if len(items) == 20 else "sha256", digits, m.group(0)))
    return out


def _numbers(code: str) -> dict[str, int]:
    """Integer constants by name (`const int httpsPort = 443;`, `#define PORT 443`)."""
    out: dict[str, int] = {}
    for m in _NUMBER_DEF_RE.finditer(code):
        name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out[name] = int(value)
    return out


def _port(token: str, numbers: dict[str, int]) -> int | None:
    token = token.strip()
    value = int(token) if token.isdigit() else numbers.get(token)
    return value if value is not None and 0 < value < 65536 else None


def _excluded(lit: Literal) -> bool:
    """A literal that is not a server: a WiFi credential, an NTP server, printed text."""
    before = lit.before.rstrip()
    later_arg = re.search(r"\b(?:WiFi\.begin|configTime)\s*\(.*,\s*$", before)
    if _NOT_SERVER_CALLS.search(before) or later_arg:
        return True
    named = _STRING_DEF_RE.search(before)
    if named:
        name = named.group(1) or named.group(2) or ""
        return bool(_NOT_SERVER_NAMES.search(name))
    return False


def _address(text: str) -> str | None:
    """The host or IP literal a string names: itself, or a URL's host."""
    url = _URL_RE.match(text)
    if url:
        text = url.group(2).strip("[]")
    if _is_ipv4(text) or _is_host(text) or (url and text == "localhost"):
        return text
    return None


def _dialed(token: str, by_name: dict[str, str]) -> str | None:
    """The address a call's argument names: a literal, or a variable that holds one
    (`host`, `host.c_str()`, `serverName`)."""
    token = token.strip()
    if token.startswith('"') and token.endswith('"'):
        return _address(token[1:-1])
    name = re.sub(r"\.c_str\(\)$", "", token).lstrip("*&").strip()
    return by_name.get(name)


def parse_source(source: str) -> SketchFacts:
    """The facts of one sketch's source text (all its files joined)."""
    code = strip_comments(source)
    numbers = _numbers(code)
    hosts: dict[str, None] = {}
    ips: dict[str, None] = {}
    ports: dict[int, None] = {}
    pems: dict[str, None] = {}
    fps: dict[str, Fingerprint] = {}
    uses_header = bool(
        re.search(rf'^\s*#\s*include\s*[<"]{re.escape(SCENARIO_HEADER)}[>"]', code, re.MULTILINE)
    )
    by_name: dict[str, str] = {}  # variable -> the address its literal holds
    for lit in literals(code):
        text = lit.text
        address = _address(text)
        named = _STRING_DEF_RE.search(lit.before.rstrip())
        if address and named:
            by_name[named.group(1) or named.group(2)] = address
        if "-----BEGIN " in text:
            for m in _PEM_RE.finditer(text):
                pems[m.group(0)] = None
            continue
        fp = _fingerprint(text)
        if fp is not None:
            fps.setdefault(fp.hex, fp)
            continue
        if _excluded(lit):
            continue
        url = _URL_RE.match(text)
        if url:
            scheme, host, port = url.groups()
            host = host.strip("[]")
            if _is_ipv4(host):
                ips[host] = None
            elif _is_host(host) or host == "localhost":
                hosts[host] = None
            else:
                continue
            ports[int(port) if port else (443 if scheme == "https" else 80)] = None
        elif _is_ipv4(text):
            ips[text] = None
        elif _is_host(text):
            hosts[text] = None
    for m in _IPADDRESS_RE.finditer(code):
        octets = ".".join(str(int(x)) for x in m.group(2, 3, 4, 5))
        if (
            _is_ipv4(octets)
            and not _NOT_SERVER_NAMES.search(m.group(1))
            and not re.search(r"(?i)(gateway|subnet|dns|mask|local|static)", m.group(1))
        ):
            ips[octets] = None
            if m.group(1):
                by_name[m.group(1)] = octets
    dialed: dict[str, None] = {}
    calls = [(m.start(), m.group(1)) for m in _CONNECT_RE.finditer(code)]
    calls += [(m.start(), m.group(1)) for m in _BEGIN_RE.finditer(code)]
    for _, token in sorted(calls):
        target = _dialed(token, by_name)
        if target and (target in hosts or target in ips):
            dialed[target] = None
    for m in _CONNECT_RE.finditer(code):
        port = _port(m.group(2), numbers)
        if port is not None:
            ports[port] = None
    for name, value in numbers.items():
        if _PORT_NAMES.search(name) and 0 < value < 65536:
            ports[value] = None
    for fp in _byte_array_fingerprints(code):
        fps.setdefault(fp.hex, fp)
    return SketchFacts(
        hosts=tuple(hosts),
        ips=tuple(ips),
        ports=tuple(ports),
        pems=tuple(pems),
        fingerprints=tuple(fps.values()),
        uses_scenario_header=uses_header,
        dialed=tuple(dialed),
    )


def sketch_files(files: Iterable[tuple[str, str]]) -> str:
    """The source of a sketch's files (name, text), in name order, joined."""
    return "\n".join(text for name, text in sorted(files) if name.endswith(SOURCE_SUFFIXES))


def pem_der(pem: str) -> bytes | None:
    """The DER bytes of one PEM block; None when its body is not base64."""
    m = _PEM_RE.search(pem)
    if not m:
        return None
    try:
        return base64.b64decode("".join(m.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def pinned_notes(facts: SketchFacts, leaf_sha1: str, leaf_sha256: str, ca_sha256: str) -> list[str]:
    """What the sketch pins against what the run served, in words (the evidence beside
    a fingerprint_mismatch or untrusted_cert: the sketch hard-codes another server's)."""
    notes = []
    served = {"sha1": leaf_sha1.lower(), "sha256": leaf_sha256.lower()}
    for fp in facts.fingerprints:
        same = fp.hex == served[fp.algorithm]
        notes.append(
            f"the sketch pins the {fp.algorithm.upper()} fingerprint {fp.hex}; the served "
            f"certificate's is {served[fp.algorithm]}: "
            + ("the same" if same else "they differ (the sketch's is another certificate's)")
        )
    for pem in facts.certificates:
        der = pem_der(pem)
        if der is None:
            notes.append("the sketch holds a PEM certificate whose body is not base64")
            continue
        digest = hashlib.sha256(der).hexdigest()
        same = digest == ca_sha256.lower()
        notes.append(
            f"the sketch trusts a certificate with SHA-256 {digest}; the run's trust anchor "
            f"is {ca_sha256.lower()}: "
            + ("the same" if same else "it is another CA, the served chain does not lead to it")
        )
    return notes


# What each real stack does with an IP literal it is told to connect to by name, when the
# certificate names that IP in an iPAddress SAN (facts: FIDELITY-*.md and the stacks'
# FACTS files of the recordings).
_IP_SAN_RULES = {
    "bearssl": (
        "BearSSL matches the name against dNSName SANs only (the CN only without any SAN): "
        "an iPAddress SAN never matches, so a CA-verifying connect by this literal fails "
        "with error 56 (hostname_mismatch); setInsecure()/setFingerprint() skip the name check"
    ),
    "mbedtls": (
        "mbedTLS 2.x (arduino-esp32 1.0.x/2.0.x) compares the name with the SAN list as DNS "
        "names only: an iPAddress SAN never matches, so a CA-verifying connect fails with -9984; "
        "mbedTLS 3 (arduino-esp32 3.x) matches iPAddress SANs"
    ),
    "axtls": (
        "axTLS on core 2.4.x checks no server name in connect(); verify(fingerprint, host) "
        "compares the host with the certificate's CN and dNSNames"
    ),
}


def ip_literal_note(facts: SketchFacts, stack: str | None, ip_san: bool) -> str | None:
    """Why a sketch that dials an IP literal meets the certificate it meets: the run's
    certificate names the literal as an iPAddress SAN (as a real server's would)."""
    name = facts.server_name
    if name is None or name in facts.hosts or not ip_san:
        return None
    rule = _IP_SAN_RULES.get(stack or "", "")
    return (
        f"the sketch dials the IP literal {name}; the run's certificate names it in an "
        "iPAddress SAN"
        + (f": {rule}" if rule else "")
        + ". A certificate with CN="
        + name
        + " and no SAN (the plan of do-2016-ssl-params) "
        "passes every stack's name check"
    )
