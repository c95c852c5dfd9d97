"""What the twin's build is told about its core release: a PlatformIO board manifest and
the generated header `hil_core_config.h`, both made from the release data.

The C++ core reads version differences from this header only (no `#if` on version
numbers): suites, buffers, timeouts, texts, which APIs exist. An API the release lacks
is declared with `unavailable("...")`, so a sketch that calls it fails to compile with
a message naming the API and the core versions that have it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from harness.instruments.mbedtls3 import CONFIG_NAME as MBEDTLS3_CONFIG
from harness.instruments.mbedtls3 import Mbedtls3
from harness.model.cores import CoreRelease, releases

TLS_WIRE = {"TLS1.0": 0x0301, "TLS1.1": 0x0302, "TLS1.2": 0x0303, "TLS1.3": 0x0304}
PERSONALITY_DIRS = {
    "esp8266-axtls": "esp8266_axtls",
    "esp8266-bearssl": "esp8266_bearssl",
    "esp32-mbedtls": "esp32_mbedtls",
    # The same code, built against mbedTLS 3 (MBEDTLS_VERSION_MAJOR picks the API).
    "esp32-mbedtls3": "esp32_mbedtls",
}
# Personalities whose twin links mbedTLS 3 from the prefix `hil setup` builds, not the
# system's mbedTLS 2.
MBEDTLS3_PERSONALITIES = frozenset({"esp32-mbedtls3"})
STACK_LIBS = {"axtls": "bearssl", "bearssl": "bearssl", "mbedtls": "mbedtls mbedx509 mbedcrypto"}
TRUST_MACROS = {"handshake-fails": 1, "connects-unverified": 2, "refused": 3}


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a valid C string literal for ASCII text


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()


def _list(values: Iterable[int]) -> str:
    return ", ".join(f"0x{v:04X}" for v in values)


def board_manifest(
    core: CoreRelease, pio_board: str, description: str, library: Mbedtls3 | None = None
) -> dict:
    """The PlatformIO board JSON of the twin of `core` (written into the build's boards_dir).
    With `library`, the core compiles against that mbedTLS 3 and links it: its prefix
    (version and configuration digest in the name) is in the manifest, so in the build id."""
    chip_defines = {
        "esp8266": [
            "-DESP8266",
            "-DARDUINO_ARCH_ESP8266",
            "-DARDUINO_ESP8266_NODEMCU",
            f"-DARDUINO_ESP8266_RELEASE_{core.version.replace('.', '_')}",
        ],
        "esp32": ["-DESP32", "-DARDUINO_ARCH_ESP32", "-DARDUINO_ESP32_DEV"],
    }[core.family]
    extras = [PERSONALITY_DIRS[x.personality] for x in core.extra]
    flags = [
        "-DHIL_TWIN",
        f"-DHIL_PERSONALITY_{_ident(core.stack)}",
        *chip_defines,
        "-DARDUINO=10805",
    ]
    return {
        "name": f"Host twin: {description}",
        "url": f"https://github.com/{core.source.repo}/tree/{core.source.tag}",
        "vendor": "esp-tls-hil",
        "frameworks": ["arduino"],
        "build": {
            "mcu": "host",
            "f_cpu": "80000000L" if core.family == "esp8266" else "240000000L",
            "core": "twin",
            "variant": core.family,
            "personality": PERSONALITY_DIRS[core.personality],
            # The release's other classes (core 2.4.2's BearSSL::WiFiClientSecure), built
            # beside it with their own hil_core_config.h (extra_config_headers).
            "extra_personalities": " ".join(extras),
            "libs": STACK_LIBS[core.stack],
            "extra_flags": " ".join(flags),
            # Only with a library of its own: the other boards' manifests (and build ids)
            # stay as they were.
            **(
                {"cpppath": str(library.include_dir), "libpath": str(library.lib_dir)}
                if library
                else {}
            ),
        },
        "upload": {"maximum_ram_size": 81920, "maximum_size": 4194304, "protocol": "none"},
    }


def _api_names(core: CoreRelease) -> list[str]:
    """Every API name any release of the family lists, so each header defines them all."""
    names: dict[str, None] = {}
    for rel in releases():
        if rel.family == core.family:
            names.update(dict.fromkeys([*rel.api.present, *rel.api.absent]))
    names.update(dict.fromkeys([*core.api.present, *core.api.absent]))
    return list(names)


def _class_api_names(family: str, stack: str) -> list[str]:
    """Every API name any release lists for its class on `stack`."""
    names: dict[str, None] = {}
    for rel in releases():
        cls = rel.personality_release(stack) if rel.family == family else None
        if cls is not None:
            names.update(dict.fromkeys([*cls.api.present, *cls.api.absent]))
    return list(names)


def _having(family: str, name: str, stack: str | None = None) -> list[str]:
    """Versions whose default class (or, with `stack`, whose class on that stack) has `name`."""
    out = []
    for rel in releases():
        cls = rel if stack is None else rel.personality_release(stack)
        if rel.family == family and cls is not None and cls.has_api(name):
            out.append(rel.version)
    return out


# The classes a sketch names by namespace, whichever class is the default: their
# headers read HIL_API_<STACK>_* (core 2.4.2 has BearSSL::WiFiClientSecure beside the
# axTLS default class).
NAMESPACED_CLASSES = {"esp8266": ("bearssl",)}


def _namespaced_api_lines(core: CoreRelease) -> list[str]:
    title = {"esp8266": "ESP8266 Arduino core", "esp32": "arduino-esp32"}[core.family]
    lines = []
    for stack in NAMESPACED_CLASSES.get(core.family, ()):
        cls = core.personality_release(stack)
        tag = _ident(stack)
        primary = set(_api_names(core)) if stack == core.stack else set()
        for name in _class_api_names(core.family, stack):
            if name in primary:
                # The default class: the same table and messages as HIL_API_<name>.
                lines += [f"#define HIL_API_{tag}_{name} HIL_API_{name}"]
                lines += [f"#define HIL_API_{tag}_ATTR_{name} HIL_API_ATTR_{name}"]
                continue
            having = _having(core.family, name, stack)
            if cls is not None and cls.has_api(name):
                attr = ""
                if name in cls.api.deprecated:
                    msg = f"{name}() is deprecated in {title} {core.version} ({cls.api.cls})"
                    attr = f"__attribute__((deprecated({_c_string(msg)})))"
                lines += [f"#define HIL_API_{tag}_{name} 1"]
                lines += [f"#define HIL_API_{tag}_ATTR_{name} {attr}".rstrip()]
                continue
            where = (
                f"core versions that have it: {', '.join(having)}"
                if having
                else "no modelled core version has it"
            )
            what = cls.api.cls if cls is not None else f"no {_class_name(stack)}"
            msg = f"{name}() is not in {title} {core.version} ({what}); {where}"
            lines += [
                f"#define HIL_API_{tag}_{name} 0",
                f"#define HIL_API_{tag}_ATTR_{name} __attribute__((unavailable({_c_string(msg)})))",
            ]
    return lines


def _api_lines(core: CoreRelease) -> list[str]:
    title = {"esp8266": "ESP8266 Arduino core", "esp32": "arduino-esp32"}[core.family]
    lines = []
    for name in _api_names(core):
        having = _having(core.family, name)
        if core.has_api(name):
            attr = ""
            if name in core.api.deprecated:
                msg = f"{name}() is deprecated in {title} {core.version} ({core.api.cls})"
                attr = f"__attribute__((deprecated({_c_string(msg)})))"
            lines += [f"#define HIL_API_{name} 1", f"#define HIL_API_ATTR_{name} {attr}".rstrip()]
        else:
            where = (
                f"core versions that have it: {', '.join(having)}"
                if having
                else "no modelled core version has it"
            )
            msg = f"{name}() is not in {title} {core.version} ({core.api.cls}); {where}"
            for stack in NAMESPACED_CLASSES.get(core.family, ()):
                others = _having(core.family, name, stack)
                if others != having and others and stack != core.stack:
                    msg += f"; as {_class_name(stack)}: {', '.join(others)}"
            lines += [
                f"#define HIL_API_{name} 0",
                f"#define HIL_API_ATTR_{name} __attribute__((unavailable({_c_string(msg)})))",
            ]
    return lines


def _class_name(stack: str) -> str:
    """The class name of `stack` in the newest release that has one."""
    for rel in reversed(releases()):
        cls = rel.personality_release(stack)
        if cls is not None:
            return cls.api.cls
    return stack


def api_flags(core: CoreRelease) -> list[str]:
    """-DHIL_API_<name>=0|1 for a real board's build: the sketches pick their trust calls
    by these (a real core 2.5-2.7 says nowhere in its headers that it is BearSSL), the
    same table the twin's hil_core_config.h gives its build; -DHIL_API_<STACK>_<name>
    for the classes a sketch names by namespace (BearSSL:: on 2.4.2 and later)."""
    flags = [f"-DHIL_API_{name}={int(core.has_api(name))}" for name in _api_names(core)]
    for stack in NAMESPACED_CLASSES.get(core.family, ()):
        cls = core.personality_release(stack)
        for name in _class_api_names(core.family, stack):
            has = cls is not None and cls.has_api(name)
            flags.append(f"-DHIL_API_{_ident(stack)}_{name}={int(has)}")
    return flags


def extra_config_headers(core: CoreRelease) -> dict[str, str]:
    """The hil_core_config.h of each extra class of `core`, by its personality folder."""
    return {PERSONALITY_DIRS[x.personality]: core_config_header(x) for x in core.extra}


def core_config_header(core: CoreRelease, library: Mbedtls3 | None = None) -> str:
    """hil_core_config.h for `core` (deterministic: it is part of the build id)."""
    t, b = core.tls, core.buffers
    out = [
        f"// Generated by esp-tls-hil from harness/model/cores/{core.path.name}: do not edit.",
        "#pragma once",
        # Included before any mbedTLS header: the core sees the options the library was
        # built with (a -D with a quoted file name would not survive the build's shell).
        *(
            [
                f"// mbedTLS {library.version} (Debian {library.debian_version}) from `hil setup`",
                f'#define MBEDTLS_USER_CONFIG_FILE "{MBEDTLS3_CONFIG}"',
            ]
            if library
            else []
        ),
        f"#define HIL_CORE_ID {_c_string(core.id)}",
        f"#define HIL_CORE_FAMILY {_c_string(core.family)}",
        f"#define HIL_CORE_VERSION {_c_string(core.version)}",
        f"#define HIL_CORE_STACK {_c_string(core.stack)}",
        f"#define HIL_TLS_MIN 0x{TLS_WIRE[t.min_version]:04X}",
        f"#define HIL_TLS_MAX 0x{TLS_WIRE[t.max_version]:04X}",
        f"#define HIL_DEFAULT_SUITES {_list(t.default_suites)}",
        f"#define HIL_LESS_SECURE_SUITES {_list(t.less_secure_suites) or '0'}",
        f"#define HIL_LESS_SECURE_SUITES_COUNT {len(t.less_secure_suites)}",
        f"#define HIL_GROUPS {_list(t.groups) or '0'}",
        f"#define HIL_GROUPS_COUNT {len(t.groups)}",
        f"#define HIL_SIG_ALGS {_list(t.signature_algorithms) or '0'}",
        f"#define HIL_SIG_ALGS_COUNT {len(t.signature_algorithms)}",
        *(
            [f"#define HIL_CBC_RECORD_SPLITTING {int(t.cbc_record_splitting)}"]
            if t.cbc_record_splitting is not None
            else []
        ),
        f"#define HIL_BUF_RECV {b.recv}",
        f"#define HIL_BUF_XMIT {b.xmit}",
        f"#define HIL_BUF_RECV_OVERHEAD {b.recv_overhead}",
        f"#define HIL_BUF_XMIT_OVERHEAD {b.xmit_overhead}",
        f"#define HIL_MFLN_LENGTHS {', '.join(map(str, b.mfln_lengths)) or '0'}",
        f"#define HIL_MFLN_COUNT {len(b.mfln_lengths)}",
        *(
            [f"#define HIL_MFLN_PROBE_EXTENSIONS {_list(b.mfln_probe_extensions)}"]
            if b.mfln_probe_extensions
            else []
        ),
        *(f"#define HIL_TRUST_{_ident(k)} {v}" for k, v in TRUST_MACROS.items()),
        f"#define HIL_TRUST_WITHOUT_METHOD HIL_TRUST_{_ident(core.trust.without_method)}",
        f"#define HIL_TRUST_MESSAGE {_c_string(core.trust.message)}",
        f"#define HIL_HANDSHAKE_TIMEOUT_MS {core.timeouts.handshake_ms}",
        f"#define HIL_AFTER_CONNECT_TIMEOUT_MS {core.timeouts.after_connect_ms}",
        "#define HIL_ERROR_TEXTS "
        + ", ".join(
            f"{{{code}, {_c_string(text)}}}" for code, text in sorted(core.errors.text.items())
        ),
        f"#define HIL_ERR_RECV_FATAL_PREFIX {_c_string(core.errors.recv_fatal_prefix)}",
        f"#define HIL_ERR_SEND_FATAL_PREFIX {_c_string(core.errors.send_fatal_prefix)}",
        f"#define HIL_ERR_OK_TEXT {_c_string(core.errors.ok_text)}",
        f"#define HIL_ERR_UNKNOWN_TEXT {_c_string(core.errors.unknown_text)}",
        f"#define HIL_LOG_PREFIX {_c_string(core.log.prefix)}",
    ]
    for key, value in core.log.lines.items():
        out.append(
            f"#define HIL_LOG_{_ident(key)} {value if isinstance(value, int) else _c_string(value)}"
        )
    # HTTPClient's error codes and errorToString() texts of the release.
    out += [f"#define {name} ({code})" for code, name in sorted(core.httpclient_errors.items())]
    texts = sorted(core.httpclient_texts.items())
    out.append(
        "#define HIL_HTTPC_ERROR_TEXTS " + ", ".join(f"{{{c}, {_c_string(t)}}}" for c, t in texts)
    )
    if core.httpclient_headers:
        out.append(
            "#define HIL_HTTPC_REQUEST_HEADERS "
            + ", ".join(_c_string(h) for h in core.httpclient_headers)
        )
    out += _api_lines(core)
    out += _namespaced_api_lines(core)
    return "\n".join(out) + "\n"
