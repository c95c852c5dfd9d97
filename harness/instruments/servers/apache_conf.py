"""A server profile as an Apache httpd configuration (pure: no files, no processes).

`render_config` turns a profile, the certificate paths and the run paths into the
text of one self-contained config for `apache2 -f CONF -DFOREGROUND`: no include
of /etc/apache2, every module loaded by path, every file under the server root.

For a profile that carries its original Apache lines (`apache_lines`, the founding
report's ssl-params.conf), those lines go in verbatim and in order. A line that
cannot apply on this machine stays in the file as a comment saying why, followed
by the line that serves the profile instead; every other line is live.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.instruments.servers.profiles import ClientAuth, ServerProfile, TlsVersion
from harness.model.errors import ConfigError
from harness.model.tls import BY_NAME

MODULES_DIR = Path("/usr/lib/apache2/modules")

# mod_unixd and mod_log_config are compiled into Debian's apache2 (`apache2 -l`).
MODULES = (
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("headers_module", "mod_headers.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
)

# Error log: ssl:debug is the level at which mod_ssl names the negotiated protocol
# and cipher (AH02041), the SNI it got (AH02645/AH02044) and each close (AH02001);
# failures with the OpenSSL reason come at info. The time carries microseconds to
# correlate with the capture. A field whose item is empty is left out by Apache
# (the escaped spaces keep "[conn ...]" one field).
LOG_LEVEL = "warn ssl:debug"
ERROR_LOG_FORMAT = r"[%{cu}t] [%-m:%l] [pid %P:tid %T] %E: [conn\ %{c}L] [client\ %{c}a] %M"
# Access log: request start and end in microseconds since the epoch, the connection's
# log id (to join with the error log), peer, status, body bytes, bytes sent on the
# connection (TLS included, mod_logio), TLS facts, and the request line last
# (it is the only field that can hold spaces).
ACCESS_LOG_FORMAT = (
    r"%{usec}t %{end:usec}t %{c}L %{c}a %{remote}p %>s %B %O "
    '%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_TLS_SNI}x "%r"'
)

_VERIFY_CLIENT = {ClientAuth.REQUIRED: "require", ClientAuth.OPTIONAL: "optional"}

# mod_ssl's coalescing filter sends the response head and the start of the body as
# one record of at most AP_IOBUFSIZE bytes, and a static file follows in 8000-byte
# reads: Apache never sends a record with more than this many plaintext bytes.
MAX_RECORD_BYTES = 8192
# More than Apache's own head (Date, Server, Last-Modified, ETag, Accept-Ranges,
# Content-Length, Content-Type: about 270 bytes), before the profile's headers.
HEAD_ALLOWANCE = 512


@dataclass(frozen=True)
class ApachePaths:
    """Where the files of one Apache instance live; all readable by the user it runs as."""

    server_root: Path
    cert_pem: Path  # the leaf, then what the profile's `chain` sends after it
    key_pem: Path
    dh_pem: Path | None  # the profile's DH group as a PEM, None for a profile without DHE
    document_root: Path
    pid_file: Path
    error_log: Path
    access_log: Path
    client_ca_pem: Path | None = None  # whom client certificates must chain to, if asked for

    @classmethod
    def under(cls, root: Path, *, with_dh: bool, with_client_ca: bool = False) -> ApachePaths:
        """The layout the apache backend uses: everything directly under `root`."""
        return cls(
            server_root=root,
            cert_pem=root / "cert.pem",
            key_pem=root / "key.pem",
            dh_pem=root / "dhparams.pem" if with_dh else None,
            document_root=root / "htdocs",
            pid_file=root / "httpd.pid",
            error_log=root / "error.log",
            access_log=root / "access.log",
            client_ca_pem=root / "client-ca.pem" if with_client_ca else None,
        )


def _quote(value: str | Path) -> str:
    text = str(value)
    # Apache reads \" inside double quotes as a quote and keeps every other backslash.
    return '"' + text.replace('"', '\\"') + '"'


def _flag(value: bool) -> str:
    return "on" if value else "off"


def ssl_protocol(profile: ServerProfile) -> str:
    """`SSLProtocol` for exactly the profile's version range (never `All`: on OpenSSL 3
    that includes TLS 1.3, which no 2016 server had)."""
    versions = [
        BY_NAME[v.value].apache
        for v in TlsVersion
        if profile.min_protocol.rank <= v.rank <= profile.max_protocol.rank
    ]
    return "SSLProtocol -all " + " ".join(f"+{v}" for v in versions)


def ssl_cipher_suite(profile: ServerProfile) -> str:
    """`SSLCipherSuite` for TLS 1.2 and below: the profile's string at its security level.

    Without DH parameters the profile serves no DHE (as nginx without ssl_dhparam, and
    the builtin backend); Apache 2.4 on OpenSSL 3 would instead pick a group itself
    (SSL_CTX_set_dh_auto) and serve every DHE suite of the string, so they are removed.
    """
    ciphers = profile.ciphers
    if profile.dh_params is None:
        ciphers += ":!kDHE"
    level = profile.effective_security_level
    if level is not None:
        # Set before the certificates load (mod_ssl does the cipher list first), so a
        # 1024-bit key or a SHA-1 intermediate loads at level 0, as in the builtin backend.
        ciphers += f":@SECLEVEL={level}"
    return f"SSLCipherSuite {ciphers}"


def profile_directives(profile: ServerProfile, paths: ApachePaths) -> list[str]:
    """The TLS and header directives that serve `profile`, in ssl-params.conf's order
    (the settings it has no line for follow)."""
    lines = [ssl_cipher_suite(profile)]
    if profile.tls13_ciphersuites:
        lines.append(f"SSLCipherSuite TLSv1.3 {':'.join(profile.tls13_ciphersuites)}")
    lines += [
        ssl_protocol(profile),
        f"SSLHonorCipherOrder {_flag(profile.honor_cipher_order)}",
        *(f"Header always set {name} {_quote(value)}" for name, value in profile.headers),
        f"SSLCompression {_flag(profile.compression)}",
        f"SSLSessionTickets {_flag(profile.session_tickets)}",
    ]
    if profile.curves:
        lines.append(f"SSLOpenSSLConfCmd Curves {':'.join(profile.curves)}")
    if profile.client_auth is not ClientAuth.NONE:
        if paths.client_ca_pem is None:
            raise ConfigError(
                f"server profile {profile.name!r}: key 'client_auth': "
                f"{profile.client_auth.value!r} needs a client CA file, none given",
                fix="make the paths with ApachePaths.under(..., with_client_ca=True)",
            )
        # The CA file also names the acceptable CAs in the CertificateRequest.
        lines += [
            f"SSLVerifyClient {_VERIFY_CLIENT[profile.client_auth]}",
            f"SSLCACertificateFile {_quote(paths.client_ca_pem)}",
        ]
    if paths.dh_pem is not None:
        lines.append(f"SSLOpenSSLConfCmd DHParameters {_quote(paths.dh_pem)}")
    return lines


def _key(line: str) -> str | None:
    """What a directive sets, so an original line and a profile line can be paired:
    the directive name, plus the sub-key for `Header ... set NAME` and
    `SSLOpenSSLConfCmd NAME`."""
    try:
        words = shlex.split(line, comments=False, posix=True)
    except ValueError:
        return None
    if not words or words[0].startswith("#"):
        return None
    name = words[0].lower()
    if name == "sslciphersuite" and len(words) >= 3:
        # `SSLCipherSuite [SSL|TLSv1.3] SPEC`: two settings, one per protocol family.
        protocol = words[1].lower()
        return name if protocol == "ssl" else f"{name} {protocol}"
    if name == "header":
        rest = [w.lower() for w in words[1:]]
        if rest[:1] in (["always"], ["onsuccess"]):
            rest = rest[1:]
        return f"header {rest[1]}" if len(rest) >= 2 else name
    if name == "sslopensslconfcmd" and len(words) >= 2:
        return f"{name} {words[1].lower()}"
    return name


def _same(original: str, ours: str) -> bool:
    """The same setting, allowing for case in names and on/off, and for quoting."""

    def norm(line: str) -> list[str]:
        words = shlex.split(line)
        return [
            w.lower() if i == 0 or w.lower() in ("on", "off") else w for i, w in enumerate(words)
        ]

    try:
        return norm(original) == norm(ours)
    except ValueError:
        return False


def _why_replaced(key: str, profile: ServerProfile, original: str) -> str:
    reasons = {
        "sslprotocol": (
            "on Apache 2.4.71 with OpenSSL 3 this also enables TLS 1.3, which the imitated "
            f"server (OpenSSL 1.0.2) never had; the profile serves "
            f"{profile.min_protocol.value}-{profile.max_protocol.value}"
        ),
        "sslciphersuite": _why_cipher_string(profile, original),
        "sslopensslconfcmd dhparameters": (
            "that file came from `openssl dhparam 2048` on the imitated server and does not "
            "exist here; the RFC 7919 ffdhe2048 group shipped with the harness serves instead"
        ),
    }
    return reasons.get(key, "the profile says otherwise")


def _why_cipher_string(profile: ServerProfile, original: str) -> str:
    why = []
    if original.split()[-1:] != [profile.ciphers]:
        why.append(
            f"the profile's string is {profile.ciphers}: what the imitated server's OpenSSL "
            "served from this one (its notes say each difference)"
        )
    level = profile.effective_security_level
    if level == 0 and profile.security_level is None:
        why.append(
            "OpenSSL 3's default security level refuses TLS 1.0/1.1; @SECLEVEL=0 gives "
            "OpenSSL 1.0.2's behaviour back with the same suites"
        )
    elif level is not None:
        why.append(f"the profile serves at OpenSSL security level {level}")
    if profile.dh_params is None:
        why.append(
            "!kDHE: the profile has no DH parameters, and Apache on OpenSSL 3 would make "
            "its own and serve DHE"
        )
    return "; ".join(why) or "the profile says otherwise"


# Original lines that stay live but do not do here what they did there.
_NOTES = {
    "sslusestapling": (
        "kept: the certificate is self-signed, so there is no issuer to ask for OCSP; "
        "Apache logs AH02217/AH02604 at start and serves without stapling"
    ),
    "sslstaplingcache": "kept: a path relative to the server root, which has a logs/ folder",
}


def original_lines(profile: ServerProfile, ours: Sequence[str]) -> tuple[list[str], list[str]]:
    """The profile's `apache_lines` as they go into the config, and the profile
    directives they do not cover (to be added after them)."""
    by_key = {_key(line): line for line in ours}
    used: set[str] = set()
    out: list[str] = []
    for raw in profile.apache_lines.strip("\n").splitlines():
        line = raw.rstrip()
        key = _key(line)
        if key is None or key not in by_key:
            if key in _NOTES:
                out.append(f"# {_NOTES[key]}")
            out.append(line)
            continue
        used.add(key)
        if _same(line, by_key[key]):
            out.append(line)
        else:
            out.append(f"# not applied here: {_why_replaced(key, profile, line)}")
            out.append(f"#   {line.strip()}")
            out.append(by_key[key])
    missing = [line for line in ours if _key(line) not in used]
    return out, missing


def render_config(
    profile: ServerProfile,
    paths: ApachePaths,
    *,
    bind: str,
    port: int,
    modules_dir: Path = MODULES_DIR,
) -> str:
    """The whole httpd configuration serving `profile` on `bind:port`."""
    root = paths.server_root
    lines = [
        "# Generated by esp-tls-hil (harness/instruments/servers/apache_conf.py)",
        f"# for profile {profile.name}.",
        f"# {profile.description}",
        "# Run: apache2 -f THIS_FILE -DFOREGROUND",
        "",
        f"ServerRoot {_quote(root)}",
        f"DefaultRuntimeDir {_quote(root)}",
        f"PidFile {_quote(paths.pid_file)}",
        f"ServerName {bind}",
        f"Listen {bind}:{port}",
        "",
    ]
    lines += [f"LoadModule {name} {_quote(modules_dir / so)}" for name, so in MODULES]
    lines += [
        "",
        "# One small child: a test server, not a production one.",
        "StartServers 1",
        "ServerLimit 1",
        "ThreadLimit 16",
        "ThreadsPerChild 16",
        "MinSpareThreads 1",
        "MaxSpareThreads 16",
        "MaxRequestWorkers 16",
        "",
        "# Ubuntu 16.04's apache2.conf values, as the founding report's server had them.",
        "Timeout 300",
        "KeepAlive On",
        "MaxKeepAliveRequests 100",
        "KeepAliveTimeout 5",
        "",
        f"ErrorLog {_quote(paths.error_log)}",
        f"LogLevel {LOG_LEVEL}",
        f"ErrorLogFormat {_quote(ERROR_LOG_FORMAT)}",
        f"LogFormat {_quote(ACCESS_LOG_FORMAT)} hil",
        f"CustomLog {_quote(paths.access_log)} hil",
        "",
        "TypesConfig /dev/null",
        "AddType text/html .html",
        f"DocumentRoot {_quote(paths.document_root)}",
        f"<Directory {_quote(paths.document_root)}>",
        "    Require all granted",
        "</Directory>",
        "DirectoryIndex index.html",
        "",
        "SSLEngine on",
        f"SSLCertificateFile {_quote(paths.cert_pem)}",
        f"SSLCertificateKeyFile {_quote(paths.key_pem)}",
        f'SSLSessionCache "shmcb:{root / "ssl_scache"}(512000)"',
        "SSLSessionCacheTimeout 300",
        "",
    ]
    ours = profile_directives(profile, paths)
    if profile.apache_lines.strip():
        source = profile.path.name if profile.path else profile.name
        original, missing = original_lines(profile, ours)
        lines.append(f"# The profile's original Apache lines ({source}: apache_lines).")
        lines += original
        if missing:
            lines += ["", "# From the profile, not in its original lines."]
            lines += missing
    else:
        lines.append(f"# Profile {profile.name}.")
        lines += ours
    return "\n".join(lines) + "\n"
