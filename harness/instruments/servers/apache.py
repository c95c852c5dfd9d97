"""The `apache` backend: a profile served by a real Apache httpd (apache2) in the foreground.

The config comes from `apache_conf.render_config`; `apache2 -t` checks it first.
`check_supported` refuses, before anything starts, what Apache cannot serve as the
profile says (a strict SNI policy, a response bigger than one of its records).
Apache runs under `procs.ManagedProcess` (its own process group, stopped on every
exit path). Started as root it runs entirely as an unprivileged user (www-data),
through `setpriv`, so nothing of it keeps root's rights.

Apache can only reach what that user can: pytest's and other private run
directories are mode 0700. So Apache gets a work directory of its own (config,
certificate, a 0600 copy of the key owned by that user, page, logs, keylog); the
adapter mirrors what it writes into the run directory while it runs and once more
after it stopped (apache_logs.LogMirror):

- `apache-error.log`, `apache-access.log`: Apache's raw logs
- `server.log`: the same facts as the builtin backend's JSON lines (harness/analysis/apachelog.py),
  so the runner and the diagnosis read either backend the same way
- `keylog.txt`: SSLKEYLOGFILE (AH10227)
- `apache.conf`: the config it ran, for the record; `apache.stderr.log`: its output
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import pwd
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness.instruments import procs
from harness.instruments.reaper import reaper
from harness.instruments.servers.apache_conf import (
    HEAD_ALLOWANCE,
    MAX_RECORD_BYTES,
    ApachePaths,
    render_config,
)
from harness.instruments.servers.apache_logs import LogMirror
from harness.instruments.servers.base import (
    ServerBase,
    ServerState,
    check_certs_fit,
    check_mfln_honoured,
    profile_where,
)
from harness.instruments.servers.builtin_main import page_body
from harness.instruments.servers.profiles import ClientAuth, ServerProfile, SniPolicy
from harness.model.errors import ConfigError, DeadlineError, PortInUseError, ToolFailedError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle

log = logging.getLogger(__name__)

READY_TIMEOUT = 5.0
CONFIG_TEST_TIMEOUT = 10.0
RUN_USER = "www-data"
PACKAGE = "apache2"
PORT_ATTEMPTS = 3  # port 0: a free port may be taken between our check and Apache's bind
_PROBE_INTERVAL = 0.003
_DH_DIR = Path(__file__).resolve().parent


def _port_free(bind: str, port: int) -> bool:
    """Whether Apache could bind `bind:port` now (same SO_REUSEADDR as Apache)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _free_port(bind: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((bind, 0))
        return int(s.getsockname()[1])


def check_supported(profile: ServerProfile, certs: CertBundle) -> None:
    """Refuse what Apache httpd cannot serve as the profile says: never a silent downgrade.

    Every other key is served as written: the chain in its order (SSLCertificateFile
    holds the leaf and what follows it), versions and security level, TLS 1.3 suites,
    curves, DH parameters, client certificates, a response size that fits one record.
    """
    check_mfln_honoured(profile, "apache")
    where = profile_where(profile)
    if profile.response_bytes is not None:
        head = HEAD_ALLOWANCE + sum(len(n) + len(v) + 4 for n, v in profile.headers)
        if profile.response_bytes + head > MAX_RECORD_BYTES:
            raise ConfigError(
                f"{where}: key 'response_bytes': the apache backend cannot send "
                f"{profile.response_bytes} bytes the way the builtin backend does",
                seen=(
                    f"Apache sends at most {MAX_RECORD_BYTES} bytes per TLS record: mod_ssl "
                    f"coalesces the head and the start of the body into {MAX_RECORD_BYTES} "
                    "bytes, and a static file follows in 8000-byte reads; the builtin backend "
                    "writes the whole response at once, in records of up to 16384 bytes"
                ),
                fix=(
                    "serve this profile with the builtin backend, or make response_bytes at most "
                    f"{MAX_RECORD_BYTES - head} (one record on both backends)"
                ),
            )
    if profile.sni is SniPolicy.STRICT:
        raise ConfigError(
            f"{where}: key 'sni': the apache backend cannot serve 'strict'",
            seen=(
                "Apache 2.4 never sends unrecognized_name: a handshake without SNI gets the "
                "default virtual host (with SSLStrictSNIVHostCheck on, a 403 after the "
                "handshake, AH02033), one with an unknown name gets it too (AH02044)"
            ),
            fix="serve this profile with the builtin backend",
        )
    check_certs_fit(profile, certs)


class ApacheServer(ServerBase):
    """Serves a profile through apache2 in the foreground (port 0: a free port)."""

    name = "apache"

    def __init__(
        self,
        profile: ServerProfile,
        certs: CertBundle,
        bind: str,
        port: int,
        run_dir: Path,
        *,
        allow_external: bool = False,
    ) -> None:
        super().__init__(profile, certs, bind, port, run_dir, allow_external=allow_external)
        check_supported(profile, certs)
        self.config_path = run_dir / "apache.conf"
        self.error_log = run_dir / "apache-error.log"
        self.access_log = run_dir / "apache-access.log"
        self.process_log = run_dir / "apache.stderr.log"
        self.apache2 = "apache2"  # resolved on start(); a test may point it elsewhere
        self._work: Path | None = None
        self._paths: ApachePaths | None = None
        self._probe_peers: set[tuple[str, int]] = set()
        self._mirror: LogMirror | None = None

    # ---- start ------------------------------------------------------------------

    def start(self) -> ApacheServer:
        """Start Apache; returns once a handshake is possible (deadline 5 s).

        Port 0: a free port is picked first (Apache cannot report one); when another
        process takes it before Apache binds, the next free port is tried.
        """
        self._check_startable()
        apache2 = procs.which(self.apache2, package=PACKAGE)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._probe_peers = set()
        attempts = PORT_ATTEMPTS if self._requested_port == 0 else 1
        for attempt in range(1, attempts + 1):
            port = self._requested_port or _free_port(self.bind)
            try:
                self._start_on(apache2, port)
                return self
            except PortInUseError:
                self.stop()
                if attempt == attempts:
                    raise
                log.info("port %d was taken before apache bound it; trying another", port)
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_on(self, apache2: str, port: int) -> None:
        if not _port_free(self.bind, port):
            raise self._port_in_use(port, "another socket already listens there")
        self._port = port
        user = self._run_user()
        self._prepare_work_dir(port, user)
        assert self._work is not None and self._paths is not None
        conf = self._work / "httpd.conf"
        prefix = self._drop_privileges(user)
        self._config_test([*prefix, apache2, "-f", str(conf), "-t"])
        self._proc = procs.ManagedProcess(
            "apache2",
            [*prefix, apache2, "-f", str(conf), "-DFOREGROUND"],
            log_path=self.process_log,
        )
        # TZ: Apache writes error log times in local time, without a zone.
        env = {"TZ": "UTC", "SSLKEYLOGFILE": str(self._work / "keylog.txt")}
        started = time.monotonic()
        self._proc.start(env=env, cwd=self._work)
        self.state = ServerState.RUNNING
        self._wait_ready(started + READY_TIMEOUT)
        self.ready_seconds = time.monotonic() - started
        assert self._mirror is not None
        self._mirror.start(f"apache-mirror-{port}")
        log.info(
            "apache server %s on %s:%d ready in %.0f ms (pid %s, run dir %s)",
            self.profile.name,
            self.bind,
            port,
            self.ready_seconds * 1000,
            self.pid,
            self.run_dir,
        )

    @staticmethod
    def _run_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(RUN_USER)
        except KeyError:
            raise ConfigError(
                f"apache must not run as root and there is no user {RUN_USER!r}",
                fix=f"install {PACKAGE} (it creates {RUN_USER}) or run the tests as a normal user",
            ) from None

    @staticmethod
    def _drop_privileges(user: pwd.struct_passwd | None) -> list[str]:
        if user is None:
            return []
        setpriv = procs.which("setpriv", package="util-linux")
        return [
            setpriv,
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--init-groups",
        ]

    def _prepare_work_dir(self, port: int, user: pwd.struct_passwd | None) -> None:
        """Apache's own folder, which the user it runs as can read and write."""
        self._remove_work_dir()
        work = Path(tempfile.mkdtemp(prefix=f"hil-apache-{port}-"))
        # It gets a copy of the private key: deleted by the reaper if the harness is killed.
        reaper().track_dir(work)
        asks = self.profile.client_auth is not ClientAuth.NONE
        client_ca = self.certs.client_ca_pem if asks else None
        paths = ApachePaths.under(
            work,
            with_dh=self.profile.dh_params is not None,
            with_client_ca=client_ca is not None,
        )
        (work / "logs").mkdir()  # relative paths in original lines (SSLStaplingCache logs/...)
        paths.document_root.mkdir()
        # The builtin backend's body, byte for byte (response_bytes: padded to that size).
        page = paths.document_root / "index.html"
        page.write_bytes(page_body(self.profile.response_bytes))
        # Apache makes the ETag weak (W/"...", 2 bytes longer) when the file changed in the
        # second of the request: a page written a minute earlier gives every run the same
        # response length, as in the recordings.
        earlier = time.time() - 60
        os.utime(page, (earlier, earlier))
        shutil.copyfile(self.certs.served_chain(self.profile.chain), paths.cert_pem)
        if client_ca is not None and paths.client_ca_pem is not None:
            shutil.copyfile(client_ca, paths.client_ca_pem)
        if paths.dh_pem is not None:
            shutil.copyfile(_DH_DIR / f"{self.profile.dh_params}.pem", paths.dh_pem)
        fd = os.open(paths.key_pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.certs.key_pem.read_bytes())
        config = render_config(self.profile, paths, bind=self.bind, port=port)
        (work / "httpd.conf").write_text(config, encoding="utf-8")
        self.config_path.write_text(config, encoding="utf-8")
        if user is not None:
            for path in [work, *work.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        self._work, self._paths = work, paths
        self._mirror = LogMirror(
            pairs=(
                (paths.error_log, self.error_log),
                (paths.access_log, self.access_log),
                (work / "keylog.txt", self.keylog),
            ),
            server_log=self.server_log,
            listening={
                "bind": self.bind,
                "port": port,
                "profile": self.profile.name,
                "backend": self.name,
            },
            exclude_peers=self._probe_peers,
        )

    def _config_test(self, cmd: list[str]) -> None:
        result = procs.run(
            cmd,
            timeout=CONFIG_TEST_TIMEOUT,
            log_path=self.run_dir / "apache-configtest.log",
            env={"TZ": "UTC"},
        )
        if result.returncode != 0:
            words = "\n".join(
                line for line in result.output.splitlines() if line.strip() != "Syntax OK"
            )
            raise ConfigError(
                f"apache rejects the config of profile {self.profile.name!r}",
                seen=words[-1500:],
                fix=(
                    "fix the profile (or its apache_lines) so apache accepts it; "
                    f"the config is {self.config_path}"
                ),
                log=result.log_path,
            )

    def _wait_ready(self, deadline: float) -> None:
        """Until a handshake is possible: Apache has set up TLS and started serving
        (AH00489), and a probe connection was accepted by a child (AH01964).

        A TCP connect alone is not enough: Apache listens before it has even read its
        certificate, and a socket some other process holds on the port answers too.
        """
        assert self._proc is not None and self._paths is not None
        error_log = self._paths.error_log
        probe: socket.socket | None = None
        needle = ""
        try:
            while True:
                if not self._proc.alive():
                    self._raise_exited()
                text = error_log.read_text(errors="replace") if error_log.exists() else ""
                if probe is None and "AH00489" in text:
                    with contextlib.suppress(ConnectionRefusedError):
                        probe = socket.create_connection(self.address, timeout=0.5)
                        host, port = probe.getsockname()[:2]
                        # The probe is the harness's, not a client: apachelog leaves it out.
                        self._probe_peers.add((host, port))
                        needle = f"[client {host}:{port}] AH01964"
                        # Apache accepts only once data or a FIN arrives (AcceptFilter https
                        # data, TCP_DEFER_ACCEPT): the FIN gets the probe through.
                        probe.shutdown(socket.SHUT_WR)
                if probe is not None and needle in text:
                    return
                if time.monotonic() > deadline:
                    raise DeadlineError(
                        f"apache for {self.profile.name} on {self.bind}:{self.port} "
                        f"not ready within {READY_TIMEOUT:.0f} s",
                        seen=self._log_tail() or "(no output)",
                        fix="read the logs; a slow machine may need a longer deadline",
                        log=self.process_log,
                    )
                time.sleep(_PROBE_INTERVAL)
        finally:
            if probe is not None:
                probe.close()

    def _raise_exited(self) -> None:
        assert self._proc is not None
        try:
            rc = self._proc.wait(timeout=2.0)
        except DeadlineError:
            rc = None
        if self._mirror is not None:
            self._mirror.sync()
        tail = self._log_tail()
        if "Address already in use" in tail:
            raise self._port_in_use(self.port, tail)
        fix = "read the logs: apache says why it stopped"
        if "Permission denied" in tail and "make_sock" in tail:
            # It runs entirely as the unprivileged user, so it cannot bind below 1024.
            fix = f"use a port of 1024 or above (or 0 for a free one): apache runs as {RUN_USER}"
        raise ToolFailedError(
            f"apache for {self.profile.name} on {self.bind}:{self.port} exited (code {rc}) "
            "before it listened",
            seen=tail,
            fix=fix,
            log=self.error_log if self.error_log.exists() else self.process_log,
        )

    def _port_in_use(self, port: int, seen: str) -> PortInUseError:
        return PortInUseError(
            f"apache cannot listen on {self.bind}:{port}",
            seen=seen,
            fix=(
                "another process holds that port (see `ss -ltnp`): stop it, "
                "or use port 0 to get a free one"
            ),
            log=self.process_log,
        )

    def _log_tail(self, lines: int = 15) -> str:
        out = []
        for path in (self.process_log, self.error_log):
            if path.exists():
                out += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out[-lines:])

    def _remove_work_dir(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            reaper().untrack_dir(self._work)
        self._work = self._paths = None

    # ---- stop -------------------------------------------------------------------

    def stop(self) -> None:
        """Stop Apache, reap it, leave its logs in the run directory; safe to repeat."""
        if self._proc is not None:
            rc = self._proc.stop()
            log.debug("apache %s stopped (exit %s)", self.profile.name, rc)
        try:
            if self._mirror is not None:
                self._mirror.stop()  # its last pass copies what Apache wrote as it stopped
        finally:
            self._mirror = None
            self._remove_work_dir()
            self.state = ServerState.STOPPED
