"""The `builtin` backend: a profile served by Python's `ssl` (OpenSSL) in a child process.

The server runs as `python -S -E .../builtin_main.py CONFIG.json` under
`procs.ManagedProcess`, so it owns its process group and is stopped on every
exit path, and a crash of the server cannot take the test process with it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from harness.instruments import procs
from harness.instruments.servers.base import (
    ServerBase,
    ServerState,
    check_certs_fit,
    check_mfln_honoured,
)
from harness.instruments.servers.builtin_main import EXIT_CANNOT_LISTEN, READY, RUN_ACK
from harness.instruments.servers.profiles import TLS13_DEFAULT, ServerProfile
from harness.model.errors import (
    DeadlineError,
    PortInUseError,
    StateError,
    ToolFailedError,
)
from harness.model.tls import VERSIONS

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle

log = logging.getLogger(__name__)

READY_TIMEOUT = 5.0
RUN_ACK_TIMEOUT = 5.0
CHILD = Path(__file__).resolve().with_name("builtin_main.py")
_DH_DIR = Path(__file__).resolve().parent


def check_supported(profile: ServerProfile, certs: CertBundle) -> None:
    """Refuse what Python's `ssl` cannot serve as the profile says: never a silent downgrade."""
    check_mfln_honoured(profile, "builtin")
    check_certs_fit(profile, certs)


def openssl_conf(profile: ServerProfile) -> str:
    """The OpenSSL configuration the server process runs with (OPENSSL_CONF).

    Python's `ssl` cannot set a list of groups (`set_ecdh_curve` takes one) nor the
    TLS 1.3 suites. OpenSSL applies its configuration's `system_default` section to
    every SSL_CTX it makes, Python's included, before Python sets anything: the
    `Groups` and `Ciphersuites` of a profile go there, as `openssl s_server -groups`
    and Apache's `SSLOpenSSLConfCmd Curves` give them. This machine's own
    /etc/ssl/openssl.cnf sets no `system_default`, so nothing else changes.
    """
    lines = [
        f"# esp-tls-hil: the builtin server of profile {profile.name}",
        "openssl_conf = hil_init",
        "[hil_init]",
        "ssl_conf = hil_ssl",
        "[hil_ssl]",
        "system_default = hil_tls",
        "[hil_tls]",
    ]
    if profile.curves:
        lines.append(f"Groups = {':'.join(profile.curves)}")
    lines.append(f"Ciphersuites = {':'.join(profile.tls13_ciphersuites or TLS13_DEFAULT)}")
    return "\n".join(lines) + "\n"


def _private_file(path: Path) -> None:
    """Make `path` (the TLS key log: session secrets) readable by its owner only, as
    Apache's is, before OpenSSL opens it for appending (it would create it 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class BuiltinServer(ServerBase):
    """Serves a profile with Python's `ssl` (OpenSSL) in a child process."""

    name = "builtin"

    @staticmethod
    def _check_supported(profile: ServerProfile, certs: CertBundle) -> None:
        check_supported(profile, certs)

    def __init__(
        self,
        profile: ServerProfile,
        certs: CertBundle,
        bind: str,
        port: int,
        run_dir: Path,
        *,
        allow_external: bool = False,
        pooled: bool = False,
    ) -> None:
        super().__init__(profile, certs, bind, port, run_dir, allow_external=allow_external)
        self._check_supported(profile, certs)
        # Pooled: it serves one run after another (`switch_logs`), run_dir is the pool's.
        self.pooled = pooled
        self._runs = 0
        self._stdout_buf = b""
        self._popen: subprocess.Popen[bytes] | None = None
        self.config_path = run_dir / f"{self.name}-server.json"
        self.openssl_conf_path = run_dir / "builtin-openssl.cnf"
        self.process_log = run_dir / f"{self.name}-server.stderr.log"

    def _config(self) -> dict[str, object]:
        p = self.profile
        dh = str(_DH_DIR / f"{p.dh_params}.pem") if p.dh_params else None
        return {
            "profile": p.name,
            "bind": self.bind,
            "port": self._requested_port,
            "cert_pem": str(self.certs.cert_pem),
            "chain_pem": str(self.certs.served_chain(p.chain)),
            "key_pem": str(self.certs.key_pem),
            "min_protocol": p.min_protocol.wire,
            "max_protocol": p.max_protocol.wire,
            # The child runs on the bare standard library: it names versions from
            # this copy of the one table.
            "version_names": {str(v.wire): v.name for v in VERSIONS},
            "ciphers": p.ciphers,
            "cipher_string": p.cipher_string,
            "curves": list(p.curves),  # served through openssl_conf (OPENSSL_CONF)
            "tls13_ciphersuites": list(p.tls13_ciphersuites or TLS13_DEFAULT),
            "openssl_conf": str(self.openssl_conf_path),
            "chain": p.chain.value,
            "sni": p.sni.value,
            "sni_names": [self.certs.host],
            "client_auth": p.client_auth.value,
            "client_ca_pem": str(self.certs.client_ca_pem) if self.certs.client_ca_pem else None,
            "response_bytes": p.response_bytes,
            "honor_cipher_order": p.honor_cipher_order,
            "dh_params_pem": dh,
            "session_tickets": p.session_tickets,
            "headers": [list(h) for h in p.headers],
            "keylog": str(self.keylog),
            "server_log": str(self.server_log),
            "control": self.pooled,
        }

    def _command(self) -> list[str | Path]:
        # By path, without site-packages: the child needs only the standard library.
        return [sys.executable, "-S", "-E", CHILD, self.config_path]

    def _child_env(self) -> dict[str, str]:
        self.openssl_conf_path.write_text(openssl_conf(self.profile), encoding="utf-8")
        return {"OPENSSL_CONF": str(self.openssl_conf_path)}

    def start(self) -> Self:
        """Start the server; returns once it accepts connections (deadline 5 s)."""
        self._check_startable()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self._config(), indent=2) + "\n", encoding="utf-8")
        _private_file(self.keylog)
        self._proc = procs.ManagedProcess(
            f"{self.name} TLS server", self._command(), log_path=self.process_log
        )
        started = time.monotonic()
        popen = self._proc.start(stdout_pipe=True, stdin_pipe=self.pooled, env=self._child_env())
        self._popen = popen
        self.state = ServerState.RUNNING
        try:
            assert popen.stdout is not None  # stdout_pipe=True
            self._port = self._wait_ready(popen.stdout.fileno(), started + READY_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        log.info(
            "%s server %s on %s:%d ready in %.0f ms (pid %s, run dir %s)",
            self.name,
            self.profile.name,
            self.bind,
            self._port,
            self.ready_seconds * 1000,
            self.pid,
            self.run_dir,
        )
        return self

    def switch_logs(self, server_log: Path, keylog: Path, *, fresh: bool = True) -> None:
        """A pooled server's next run: its events to `server_log` (from a `listening`
        event on), its secrets to `keylog` (made 0600 here), and (`fresh`) a new TLS
        context, so no session of an earlier run can be resumed. Returns once the
        server did it."""
        if not self.pooled or self._proc is None or not self.alive():
            raise StateError(
                f"{self!r}.switch_logs() in state '{self.state}'"
                f"{'' if self.pooled else ' (not pooled)'}: expected a running pooled server",
                fix="start a BuiltinServer(..., pooled=True), or a new one if it died",
            )
        _private_file(keylog)
        self._runs += 1
        popen = self._popen
        assert popen is not None and popen.stdin is not None and popen.stdout is not None
        command = {
            "run": self._runs,
            "server_log": str(server_log),
            "keylog": str(keylog),
            "fresh": fresh,
        }
        try:
            popen.stdin.write(json.dumps(command).encode() + b"\n")
            popen.stdin.flush()
        except OSError:
            self._raise_exited()
        line = self._read_line(popen.stdout.fileno(), time.monotonic() + RUN_ACK_TIMEOUT)
        if line != f"{RUN_ACK} {self._runs}":
            raise ToolFailedError(
                f"pooled {self.name} server said {line!r} instead of '{RUN_ACK} {self._runs}'",
                seen=self._log_tail(),
                fix=f"a bug in {self._command()[-2]}; read the log",
                log=self.process_log,
            )
        self.server_log, self.keylog = server_log, keylog

    def _wait_ready(self, fd: int, deadline: float) -> int:
        line = self._read_line(fd, deadline)
        if not line.startswith(READY + " port="):
            raise ToolFailedError(
                f"{self.name} server said {line!r} instead of its ready line",
                seen=self._log_tail(),
                fix=f"a bug in {self._command()[-2]}; read the log",
                log=self.process_log,
            )
        return int(line.rsplit("=", 1)[1])

    def _read_line(self, fd: int, deadline: float) -> str:
        buf = self._stdout_buf
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineError(
                    f"{self.name} server for {self.profile.name} on {self.bind}:{self.port} "
                    f"not ready within {READY_TIMEOUT:.0f} s",
                    seen=self._log_tail() or "(no output)",
                    fix="read the log; a slow machine may need a longer deadline",
                    log=self.process_log,
                )
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self._raise_exited()
            buf += chunk
        line, self._stdout_buf = buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def _raise_exited(self) -> None:
        assert self._proc is not None
        try:
            rc = self._proc.wait(timeout=2.0)
        except DeadlineError:
            rc = None
        tail = self._log_tail()
        where = f"{self.bind}:{self._requested_port}"
        if rc == EXIT_CANNOT_LISTEN:
            raise PortInUseError(
                f"{self.name} server cannot listen on {where}",
                seen=tail,
                fix=(
                    "another process holds that port (see `ss -ltnp`): stop it, "
                    "or use port 0 to get a free one"
                ),
                log=self.process_log,
            )
        raise ToolFailedError(
            f"{self.name} server for {self.profile.name} on {where} exited (code {rc}) "
            "before ready",
            seen=tail,
            fix="read the log: the server says why it stopped",
            log=self.process_log,
        )

    def _log_tail(self, lines: int = 15) -> str:
        if not self.process_log.exists():
            return ""
        return "\n".join(self.process_log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server and reap it; safe in any state, any number of times."""
        if self._proc is not None:
            if self.pooled:
                # EOF on its control pipe ends it at once; a SIGTERM while its control
                # thread reads stdin makes the interpreter's exit wait about a second.
                _close_and_wait(self._popen, self._proc, 1.0)
            rc = self._proc.stop()
            log.debug("%s server %s stopped (exit %s)", self.name, self.profile.name, rc)
        self.state = ServerState.STOPPED


def _close_and_wait(
    popen: subprocess.Popen[bytes] | None, proc: procs.ManagedProcess, timeout: float
) -> None:
    """Close a child's stdin (its sign to end) and give it `timeout` s to exit."""
    if popen is None or popen.stdin is None or not proc.alive():
        return
    with contextlib.suppress(OSError):
        popen.stdin.close()
    with contextlib.suppress(DeadlineError):
        proc.wait(timeout)
