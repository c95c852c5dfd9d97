"""mbedTLS 3 for the twin of arduino-esp32 3.x: Debian's source package, built here.

Debian 12 ships mbedTLS 2.28 only. Debian 13 ("trixie") has the source package
`mbedtls` 3.6: `ensure_mbedtls3` fetches it with apt-get (a private apt state folder
and a deb-src entry made from the machine's own apt sources, so apt checks the
archive's signature and the files' checksums, and the machine's apt configuration is
never touched), unpacks it with dpkg-source and builds the three static libraries
(no tests, no programs) with the source's own Makefile and our configuration file
(`harness/twin/mbedtls3/esp32_3x_user_config.h`, ESP-IDF's options of arduino-esp32
3.x). The result is a prefix in the cache, `<cache>/mbedtls3/<version>-<digest>/`
with `include/`, `lib/` and `prefix.json`; a second call finds it and does nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.instruments import procs
from harness.model.errors import ConfigError, DeadlineError, ToolFailedError

log = logging.getLogger(__name__)

PACKAGE = "mbedtls"
SUITE = "trixie"  # Debian 13: the first Debian release with mbedTLS 3
MAJOR = 3
CONFIG_FILE = (
    Path(__file__).resolve().parent.parent / "twin" / "mbedtls3" / "esp32_3x_user_config.h"
)
CONFIG_NAME = "hil_esp32_3x_user_config.h"  # its name inside the prefix's include/
LIBS = ("mbedtls", "mbedx509", "mbedcrypto")  # link order
APT_TIMEOUT = 300.0
BUILD_TIMEOUT = 1800.0  # a cold -j1 build on a loaded 2-core machine takes a few minutes
SYSTEM_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
OS_RELEASE = Path("/etc/os-release")


@dataclass(frozen=True)
class Mbedtls3:
    """A built mbedTLS 3: what a compiler and a linker need, and where it came from."""

    prefix: Path
    version: str  # upstream version, e.g. "3.6.6"
    debian_version: str  # e.g. "3.6.6-0.1~deb13u1"
    config_digest: str

    @property
    def include_dir(self) -> Path:
        return self.prefix / "include"

    @property
    def lib_dir(self) -> Path:
        return self.prefix / "lib"

    @property
    def defines(self) -> tuple[str, ...]:
        return (f'MBEDTLS_USER_CONFIG_FILE="{CONFIG_NAME}"',)

    @property
    def libraries(self) -> tuple[Path, ...]:
        return tuple(self.lib_dir / f"lib{name}.a" for name in LIBS)


@dataclass(frozen=True)
class AptSource:
    """One archive of the machine's apt sources: where and with which key."""

    uris: tuple[str, ...]
    signed_by: str  # a keyring path, or "" (apt's trusted keys)
    components: tuple[str, ...]


def config_digest() -> str:
    return hashlib.sha256(CONFIG_FILE.read_bytes()).hexdigest()[:12]


def root(cache_dir: Path) -> Path:
    return cache_dir / "mbedtls3"


def find(cache_dir: Path) -> Mbedtls3 | None:
    """The built mbedTLS 3 for the current configuration file, or None."""
    digest = config_digest()
    found = sorted(root(cache_dir).glob(f"*-{digest}/prefix.json"))
    for meta in reversed(found):
        loaded = _load(meta)
        if loaded is not None and all(p.is_file() for p in loaded.libraries):
            return loaded
    return None


def require(cache_dir: Path) -> Mbedtls3:
    """The built mbedTLS 3, or a clear error saying how to build it."""
    found = find(cache_dir)
    if found is None:
        raise ConfigError(
            "the twin of arduino-esp32 3.x needs mbedTLS 3, which is not built in "
            f"{root(cache_dir)}",
            seen=f"no prefix for configuration {config_digest()} ({CONFIG_FILE.name})",
            fix="run `hil setup` (or scripts/dev.sh setup) with the same HIL_CACHE_DIR",
        )
    return found


def _load(meta: Path) -> Mbedtls3 | None:
    try:
        data = json.loads(meta.read_text())
        return Mbedtls3(
            prefix=meta.parent,
            version=str(data["version"]),
            debian_version=str(data["debian_version"]),
            config_digest=str(data["config_digest"]),
        )
    except (OSError, ValueError, KeyError):
        return None


# -- the machine's apt sources -------------------------------------------------------------


def system_codename(os_release: Path = OS_RELEASE) -> str:
    for line in os_release.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"')
    return ""


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
            continue
        if line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_sources(files: dict[str, str], codename: str) -> AptSource | None:
    """The archive that serves the machine's own release (`Suites: <codename>`, type
    deb): the same archive serves the next release's source packages."""
    for name, text in sorted(files.items()):
        if name.endswith(".sources"):
            for st in _deb822_stanzas(text):
                types = st.get("types", "").split()
                suites = st.get("suites", "").split()
                if st.get("enabled", "yes").lower() == "no":
                    continue
                if "deb" in types and codename in suites and st.get("uris"):
                    return AptSource(
                        uris=tuple(st["uris"].split()),
                        signed_by=st.get("signed-by", "").split("\n")[0].strip(),
                        components=tuple(st.get("components", "main").split()),
                    )
        elif name.endswith(".list"):
            for line in text.splitlines():
                m = re.match(r"^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
                if m and m.group(3) == codename:
                    opts = m.group(1) or ""
                    key = re.search(r"signed-by=(\S+?)\]?(\s|$)", opts)
                    return AptSource(
                        uris=(m.group(2),),
                        signed_by=key.group(1).rstrip("]") if key else "",
                        components=tuple(m.group(4).split()),
                    )
    return None


def read_system_sources() -> dict[str, str]:
    files: dict[str, str] = {}
    for place in SYSTEM_SOURCES:
        paths = [place] if place.is_file() else sorted(place.glob("*")) if place.is_dir() else []
        for path in paths:
            if path.is_file() and path.suffix in (".list", ".sources"):
                files[str(path)] = path.read_text(errors="replace")
    return files


def source_entry(source: AptSource) -> str:
    """The deb-src entry (deb822) for SUITE from the machine's own archive."""
    lines = [
        "Types: deb-src",
        f"URIs: {' '.join(source.uris)}",
        f"Suites: {SUITE}",
        "Components: main",
    ]
    if source.signed_by:
        lines.append(f"Signed-By: {source.signed_by}")
    return "\n".join(lines) + "\n"


# -- fetch, unpack, build ------------------------------------------------------------------


def _apt_options(state: Path) -> list[str]:
    # Private lists, caches and source entries: the machine's apt state and configuration
    # stay as they are. Verification (signatures, checksums) is apt's default, left on.
    return [
        "-o",
        f"Dir::Etc::sourcelist={state / 'none.list'}",
        "-o",
        f"Dir::Etc::sourceparts={state / 'sources.list.d'}",
        "-o",
        f"Dir::State::Lists={state / 'lists'}",
        "-o",
        f"Dir::Cache={state / 'cache'}",
        "-o",
        "Debug::NoLocking=1",
    ]


def fetch_source(work: Path, *, log_path: Path) -> Path:
    """Download and unpack Debian's mbedtls source package from SUITE; returns its tree."""
    codename = system_codename() if OS_RELEASE.is_file() else ""
    source = parse_sources(read_system_sources(), codename) if codename else None
    if source is None:
        raise ConfigError(
            "no Debian archive found in the machine's apt sources to fetch mbedTLS 3 from",
            seen=f"no 'deb' entry for suite {codename or '(unknown codename)'} in "
            + ", ".join(str(p) for p in SYSTEM_SOURCES),
            fix="on Debian, keep the distribution's archive in the apt sources; elsewhere, "
            f"build mbedTLS 3 by hand with {CONFIG_FILE} (see harness/instruments/mbedtls3.py)",
        )
    state = work / "apt"
    (state / "sources.list.d").mkdir(parents=True, exist_ok=True)
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "none.list").write_text("")
    (state / "sources.list.d" / f"hil-{SUITE}-src.sources").write_text(source_entry(source))
    apt = procs.which("apt-get", package="apt")
    fix = (
        f"check that this machine reaches its Debian archive ({', '.join(source.uris)}) and "
        f"that its suite {SUITE} is signed by a key apt trusts (package "
        "debian-archive-keyring); then run `hil setup` again"
    )
    procs.run(
        # --error-on=any: a source that cannot be fetched fails the update (by default
        # apt-get update only warns and exits 0, and `source` would fail later, unclearly).
        [apt, *_apt_options(state), "update", "--error-on=any"],
        timeout=APT_TIMEOUT,
        log_path=log_path,
        append_log=True,
    ).check(f"apt-get update of the private {SUITE} source list", fix=fix)
    download = work / "download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    procs.run(
        [apt, *_apt_options(state), "source", "--download-only", f"{PACKAGE}/{SUITE}"],
        timeout=APT_TIMEOUT,
        log_path=log_path,
        append_log=True,
        cwd=download,
    ).check(f"apt-get source {PACKAGE}/{SUITE}", fix=fix)
    dsc = next(iter(sorted(download.glob(f"{PACKAGE}_*.dsc"))), None)
    if dsc is None:
        raise ToolFailedError(
            f"apt-get source {PACKAGE}/{SUITE} left no .dsc file in {download}",
            fix=fix,
            log=log_path,
        )
    tree = download / "tree"
    procs.run(
        [procs.which("dpkg-source", package="dpkg-dev"), "-x", dsc.name, tree.name],
        timeout=APT_TIMEOUT,
        log_path=log_path,
        append_log=True,
        cwd=download,
    ).check(f"dpkg-source -x {dsc.name}", fix="install dpkg-dev; then run `hil setup` again")
    return tree


def _versions(tree: Path) -> tuple[str, str]:
    changelog = (tree / "debian" / "changelog").read_text(errors="replace")
    m = re.match(r"^\S+ \(([^)]+)\)", changelog)
    debian_version = m.group(1) if m else ""
    header = (tree / "include" / "mbedtls" / "build_info.h").read_text(errors="replace")
    v = re.search(r'#define MBEDTLS_VERSION_STRING\s+"([^"]+)"', header)
    version = v.group(1) if v else ""
    if not version.startswith(f"{MAJOR}."):
        raise ToolFailedError(
            f"the {PACKAGE} source package of {SUITE} is not mbedTLS {MAJOR}",
            seen=f"MBEDTLS_VERSION_STRING {version!r} (Debian version {debian_version!r})",
            fix=f"update SUITE in {__file__} to a Debian suite that has mbedTLS {MAJOR}",
        )
    return version, debian_version


def build(tree: Path, prefix: Path, *, log_path: Path, jobs: int) -> None:
    """Build the static libraries of `tree` with our configuration into `prefix`."""
    make = procs.which("make", package="make")
    gcc = procs.which("gcc", package="gcc")
    shutil.copy2(CONFIG_FILE, tree / "include" / CONFIG_NAME)
    cflags = f"-O2 -DMBEDTLS_USER_CONFIG_FILE='\"{CONFIG_NAME}\"'"
    procs.run(
        [make, "-C", tree / "library", f"-j{jobs}", "static", f"CC={gcc}", f"CFLAGS={cflags}"],
        timeout=BUILD_TIMEOUT,
        log_path=log_path,
        append_log=True,
    ).check(
        f"building mbedTLS {MAJOR} (make -C library static)",
        fix="look at the log; the compiler must be gcc 12 or newer",
    )
    (prefix / "lib").mkdir(parents=True)
    for name in LIBS:
        shutil.copy2(tree / "library" / f"lib{name}.a", prefix / "lib")
    shutil.copytree(tree / "include", prefix / "include")


def ensure_mbedtls3(cache_dir: Path, *, log_path: Path, jobs: int | None = None) -> str:
    """Build mbedTLS 3 into the cache unless it is there; returns what was done. Two
    set-ups at once on one cache: the second waits for the first and finds its build."""
    base = root(cache_dir)
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("w") as lock:
        # Bounded: the other set-up's own steps all have deadlines within this one.
        deadline = time.monotonic() + 3 * APT_TIMEOUT + BUILD_TIMEOUT
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DeadlineError(
                        f"another set-up held {base / '.lock'} past its deadline",
                        fix="stop the other `hil setup`, then run it again",
                    ) from None
                time.sleep(0.5)
        try:
            return _ensure(cache_dir, base, log_path=log_path, jobs=jobs)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure(cache_dir: Path, base: Path, *, log_path: Path, jobs: int | None) -> str:
    found = find(cache_dir)
    if found is not None:
        return (
            f"mbedTLS {found.version} (Debian {found.debian_version}) already built in "
            f"{found.prefix}"
        )
    started = time.monotonic()
    digest = config_digest()
    with tempfile.TemporaryDirectory(prefix="build-", dir=base) as tmp:
        work = Path(tmp)
        tree = fetch_source(work, log_path=log_path)
        version, debian_version = _versions(tree)
        staged = work / "prefix"
        build(tree, staged, log_path=log_path, jobs=jobs or os.cpu_count() or 1)
        (staged / "prefix.json").write_text(
            json.dumps(
                {
                    "version": version,
                    "debian_version": debian_version,
                    "suite": SUITE,
                    "config_digest": digest,
                    "config_file": CONFIG_FILE.name,
                },
                indent=2,
            )
            + "\n"
        )
        final = base / f"{version}-{digest}"
        shutil.rmtree(final, ignore_errors=True)
        # One rename: a prefix is complete or absent, also after Ctrl-C mid-build.
        staged.rename(final)
    took = time.monotonic() - started
    log.info("mbedTLS %s built in %.0f s into %s", version, took, final)
    return (
        f"mbedTLS {version} (Debian {debian_version}) fetched and built in {took:.0f} s "
        f"into {final}"
    )
