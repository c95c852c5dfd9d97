"""The key cache: keys are made once (an RSA-8192 key takes seconds) and reused, so
certificates come out the same run after run."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.instruments.certs.plans import _EC_CURVES
from harness.model.errors import ConfigError

log = logging.getLogger(__name__)

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# -- the key cache ---------------------------------------------------------------------------


def key_cache_path(key_type: str, key_size: int, label: str, cache_dir: Path) -> Path:
    """Where the key of that type, size and label is cached."""
    return cache_dir / f"{key_type}-{key_size}-{label}.key.pem"


def _cached_key(key_type: str, key_size: int, label: str, cache_dir: Path) -> _PrivateKey:
    """The key from `cache_dir`, generated once, even by concurrent test workers.

    Generation runs under an exclusive lock on a per-key lock file, so a second
    worker waits for the first one's key instead of making its own (an RSA-8192
    key takes seconds to minutes); the key file appears atomically (written to a
    temporary file, then linked into place), so a reader never sees half a key.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = key_cache_path(key_type, key_size, label, cache_dir)
    if not path.exists():
        lock_path = cache_dir / f".{path.name}.lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if not path.exists():
                _generate_key(key_type, key_size, path)
                # Safe once the key is in place: a waiter on this lock re-checks the key
                # first, and a newcomer sees the key and takes no lock.
                lock_path.unlink(missing_ok=True)
    try:
        # The RSA consistency check costs seconds for an 8192-bit key, on every load; the
        # file is our own, written atomically, so a check at each load buys nothing.
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cached key {path} cannot be read",
            seen=str(exc),
            fix=f"delete {path}; the next run makes a new key",
        ) from None
    if key_type == "rsa":
        ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size == key_size
    else:
        ok = isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == key_size
    if not ok:
        raise ConfigError(
            f"cached key {path} is not an {key_type.upper()}-{key_size} key",
            seen=type(key).__name__,
            fix=f"delete {path}; the next run makes a new key",
        )
    return key  # type: ignore[return-value]


def _generate_key(key_type: str, key_size: int, path: Path) -> None:
    started = time.monotonic()
    key: _PrivateKey
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    else:
        key = ec.generate_private_key(_EC_CURVES[key_size]())
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # link() fails if another run got there first (no lock on some file systems);
        # then its key is the one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    log.info(
        "generated %s-%s key %s in %.1f s", key_type, key_size, path, time.monotonic() - started
    )


def _write_if_changed(path: Path, data: bytes, *, mode: int | None = None) -> None:
    if path.exists() and path.read_bytes() == data:
        if mode is not None:
            os.chmod(path, mode)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644 if mode is None else mode)
    with os.fdopen(fd, "wb") as f:
        if mode is not None:
            # Before the first byte: a key must never be readable by others, even briefly.
            os.fchmod(f.fileno(), mode)
        f.write(data)
