"""Write harness/analysis/messages/*.toml from the stacks' own sources.

A developer tool, not part of the package: it reads the bare git directories that the
search tool's `fetch` brings (esp8266/Arduino, igrr/axtls-8266, Mbed-TLS/mbedtls) and the
system headers of Debian's libbearssl-dev and libmbedtls-dev, and writes, for every error
code, error text and debug line of the stacks the twin knows, the exact text printed with
its repository, file, tag or commit and line. What each message *means* for the
diagnosis (cause, confidence) is ours: the tables at the end of this file. Nothing is
built and no code is copied: only message strings and their places.

    python scripts/catalogue_from_sources.py --mirrors /work/.mirror
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ESP8266_AXTLS_TAGS = ("2.4.1", "2.4.2")
ESP8266_BEARSSL_TAGS = ("2.5.2", "2.7.4", "3.0.2", "3.1.2")
AXTLS_COMMIT = "24af415e4a5ecdb32b76b5802f52b71367953b75"  # what cores 2.4.0-2.4.2 ship (FACTS §0)
MBEDTLS_TAGS = {
    "mbedtls-2.16.12": "arduino-esp32 1.0.6 (ESP-IDF 3.3)",
    "mbedtls-2.28.3": "arduino-esp32 2.0.17 (ESP-IDF 4.4)",
}
OUT = Path(__file__).resolve().parents[1] / "harness" / "analysis" / "messages"


class Repo:
    def __init__(self, git_dir: Path, name: str) -> None:
        self.git_dir, self.name = git_dir, name

    def lines(self, ref: str, path: str) -> list[str]:
        out = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "show", f"{ref}:{path}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return out.split("\n")


def src(repo: str, path: str, ref: str, line: int) -> dict:
    return {"repo": repo, "path": path, "ref": ref, "line": line}


def c_string(s: str) -> str:
    """A C string literal's body as printed (escapes undone, trailing newlines dropped)."""
    s = s.replace('\\"', '"').replace("\\t", "\t").replace("\\\\", "\\")
    return re.sub(r"(\\r|\\n)+$", "", s)


# -- BearSSL ----------------------------------------------------------------------------------


def bearssl(esp: Repo) -> list[dict]:
    names: dict[str, tuple[int, dict]] = {}
    for header in ("bearssl_ssl.h", "bearssl_x509.h"):
        path = Path("/usr/include/bearssl") / header
        for i, text in enumerate(path.read_text().split("\n"), 1):
            if m := re.match(r"#define (BR_ERR_\w+)\s+(\d+)\s*$", text):
                names[m.group(1)] = (
                    int(m.group(2)),
                    src(
                        "Debian libbearssl-dev 0.6",
                        f"/usr/include/bearssl/{header}",
                        "0.6+dfsg.1-3",
                        i,
                    ),
                )
    w = "libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp"
    texts: dict[str, dict[str, tuple[str, int]]] = {}  # name -> tag -> (text, line)
    debug: dict[str, list[dict]] = {}
    prefixes: dict[str, list[dict]] = {}
    for tag in ESP8266_BEARSSL_TAGS:
        for i, text in enumerate(esp.lines(tag, w), 1):
            if m := re.search(r'case (BR_ERR_\w+|-1000): t = PSTR\("(.*)"\); break;', text):
                texts.setdefault(m.group(1), {})[tag] = (c_string(m.group(2)), i)
            elif m := re.search(r'default: t = PSTR\("(.*)"\); break;', text):
                texts.setdefault("default", {})[tag] = (c_string(m.group(1)), i)
            elif m := re.search(r'(recv|send)_fatal = PSTR\("(.*)"\);', text):
                prefixes.setdefault(m.group(1), []).append(
                    src(esp.name, w, tag, i) | {"text": m.group(2)}
                )
            for m in re.finditer(r'DEBUG_BSSL\("((?:[^"\\]|\\.)*)"', text):
                debug.setdefault(c_string(m.group(1)), []).append(src(esp.name, w, tag, i))
    out = []
    for name, (code, header_src) in sorted(names.items(), key=lambda kv: kv[1][0]):
        by_tag = texts.get(name, {})
        printed = {t for t, _ in by_tag.values()}
        text = printed.pop() if len(printed) == 1 else texts["default"]["3.1.2"][0]
        if name == "BR_ERR_OK":
            text = "OK"  # getLastSSLError()'s initial text
        cause, conf, meaning = BEARSSL_MEANING.get(name, ("none", "none", "BearSSL error " + name))
        out.append(
            {
                "id": f"bearssl.error.{code}",
                "stack": "bearssl",
                "kind": "error_code",
                "code": code,
                "name": name,
                "text": text,
                "meaning": meaning,
                "cause": cause,
                "confidence": conf,
                "sources": [header_src]
                + [src(esp.name, w, t, ln) for t, (_, ln) in sorted(by_tag.items())],
            }
        )
    oom = texts["-1000"]
    out.append(
        {
            "id": "bearssl.error.-1000",
            "stack": "bearssl",
            "kind": "error_code",
            "code": -1000,
            "name": "core: _oom_err",
            "text": oom["3.1.2"][0],
            "meaning": "The core could not allocate BearSSL's context or buffers.",
            "cause": "out_of_memory",
            "confidence": "log",
            "sources": [src(esp.name, w, t, ln) for t, (_, ln) in sorted(oom.items())],
        }
    )
    default = texts["default"]
    out.append(
        {
            "id": "bearssl.error.unknown",
            "stack": "bearssl",
            "kind": "error_text",
            "code": None,
            "name": "default",
            "text": default["3.1.2"][0],
            "meaning": "getLastSSLError() has no text for the code: in 2.5.x-2.7.x every alert "
            "(256+n received, 512+n sent) prints this; in 3.x an alert number without a BR_ERR "
            "of the same value does.",
            "cause": "none",
            "confidence": "none",
            "sources": [src(esp.name, w, t, ln) for t, (_, ln) in sorted(default.items())],
        }
    )
    for way, sources in sorted(prefixes.items()):
        out.append(
            {
                "id": f"bearssl.alert_prefix.{way}",
                "stack": "bearssl",
                "kind": "error_text",
                "code": None,
                "name": f"{way}_fatal",
                "text": sources[0]["text"],
                "meaning": "3.x getLastSSLError(): the text that follows is the BR_ERR text of the "
                "code equal to the alert number, not the alert's meaning.",
                "cause": "none",
                "confidence": "none",
                "sources": [{k: v for k, v in s.items() if k != "text"} for s in sources],
            }
        )
    # A received/sent alert as each core prints it: 2.x the raw 256+n / 512+n and the default
    # text; 3.x the number n and "SSL received fatal alert - " + the text of BR_ERR == n.
    value_text = {
        names[n][0]: v["3.1.2"][0] for n, v in texts.items() if n in names and "3.1.2" in v
    }
    for n, (alert, cause, conf) in sorted(ALERTS.items()):
        for way, base, prefix in (
            ("received", 256, "SSL received fatal alert - "),
            ("sent", 512, "SSL sent fatal alert - "),
        ):
            if way == "sent" and n not in SENT_ALERTS:
                continue
            c3 = value_text.get(n, default["3.1.2"][0])
            out.append(
                {
                    "id": f"bearssl.alert_{way}.{n}",
                    "stack": "bearssl",
                    "kind": "alert",
                    "code": base + n,
                    "name": alert,
                    "alert": n,
                    "direction": way,
                    "text": prefix + c3,
                    "text_2x": default["2.7.4"][0],
                    "meaning": f"A fatal {alert} ({n}) alert {way}. Cores 2.5.x/2.7.x return "
                    f"{base + n} with '{default['2.7.4'][0]}'; 3.x return {n} and print '{prefix}{c3}' "
                    "(the text of the unrelated BR_ERR code of the same value).",
                    "cause": cause if way == "received" else SENT_ALERTS[n][0],
                    "confidence": conf if way == "received" else SENT_ALERTS[n][1],
                    "sources": [
                        {k: v for k, v in s.items() if k != "text"}
                        for s in prefixes["recv" if way == "received" else "send"]
                    ]
                    + [src(esp.name, w, t, texts["default"][t][1]) for t in ("2.5.2", "2.7.4")],
                }
            )
    for fmt, sources in debug.items():
        key = re.sub(r"%\w", "%", fmt)
        cause, conf, meaning = BSSL_DEBUG_MEANING.get(
            key, ("none", "none", "A BearSSL debug line.")
        )
        out.append(
            {
                "id": "bearssl.debug." + re.sub(r"\W+", "_", key).strip("_")[:60],
                "stack": "bearssl",
                "kind": "debug_line",
                "code": None,
                "name": "DEBUG_BSSL",
                "text": "BSSL:" + fmt,
                "meaning": meaning,
                "cause": cause,
                "confidence": conf,
                "sources": sources,
            }
        )
    return out


# -- axTLS --------------------------------------------------------------------------------------


def axtls(ax: Repo, esp: Repo) -> list[dict]:
    out = []
    codes: dict[str, tuple[int, dict]] = {}
    for i, text in enumerate(ax.lines(AXTLS_COMMIT, "ssl/ssl.h"), 1):
        if m := re.match(r"#define (SSL_(?:OK|NOT_OK|ERROR_\w+|CLOSE_NOTIFY))\s+(-?\d+)", text):
            codes[m.group(1)] = (int(m.group(2)), src(ax.name, "ssl/ssl.h", AXTLS_COMMIT, i))
        if m := re.match(r"#define (SSL_ALERT_(?!TYPE)\w+)\s+(\d+)", text):
            codes[m.group(1)] = (int(m.group(2)), src(ax.name, "ssl/ssl.h", AXTLS_COMMIT, i))
    x509: dict[str, tuple[int, dict]] = {}
    for i, text in enumerate(ax.lines(AXTLS_COMMIT, "ssl/crypto_misc.h"), 1):
        if m := re.match(r"#define (X509_\w+)\s+(-?\d+)", text):
            x509[m.group(1)] = (int(m.group(2)), src(ax.name, "ssl/crypto_misc.h", AXTLS_COMMIT, i))
    tls1 = ax.lines(AXTLS_COMMIT, "ssl/tls1.c")
    case = None
    in_display_error = in_display_alert = False
    for i, text in enumerate(tls1, 1):
        if "void STDCALL ssl_display_error" in text:
            in_display_error = True
        if re.search(r"void\s+DISPLAY_ALERT", text):
            in_display_error, in_display_alert = False, True
        if m := re.search(r"case (SSL_\w+):", text):
            case = m.group(1)
        m = re.search(r'printf\("((?:[^"\\]|\\.)*)"', text)
        if not m:
            continue
        body = c_string(m.group(1))
        if in_display_error and case in codes and not body.startswith("Error"):
            code = codes[case][0]
            cause, conf, meaning = AXTLS_ERROR_MEANING.get(case, ("none", "none", case))
            out.append(
                {
                    "id": f"axtls.error.{code}",
                    "stack": "axtls",
                    "kind": "error_code",
                    "code": code,
                    "name": case,
                    "text": "Error: " + body,
                    "meaning": meaning,
                    "cause": cause,
                    "confidence": conf,
                    "sources": [codes[case][1], src(ax.name, "ssl/tls1.c", AXTLS_COMMIT, i)],
                }
            )
            case = None
        elif in_display_alert and case in codes and case.startswith("SSL_ALERT_"):
            n = codes[case][0]
            cause, conf = AXTLS_ALERT_MEANING.get(n, ("none", "none"))
            out.append(
                {
                    "id": f"axtls.alert.{n}",
                    "stack": "axtls",
                    "kind": "alert",
                    "code": n,
                    "name": case,
                    "alert": n,
                    "text": "Alert: " + body,
                    "meaning": f"DISPLAY_ALERT of alert {n}: printed for an alert received, and for "
                    "one the board sends right after an 'Error:' line.",
                    "cause": cause,
                    "confidence": conf,
                    "sources": [codes[case][1], src(ax.name, "ssl/tls1.c", AXTLS_COMMIT, i)],
                }
            )
            case = None
        elif body.startswith("SSL error %d") or body.startswith("alert - (unknown %d)"):
            kind = "error_code" if body.startswith("SSL") else "alert"
            out.append(
                {
                    "id": "axtls."
                    + ("error.alert_n" if kind == "error_code" else "alert.unknown_n"),
                    "stack": "axtls",
                    "kind": "error_text",
                    "code": None,
                    "name": "format",
                    "text": ("Error: " if kind == "error_code" else "Alert: ") + body,
                    "meaning": "SSL error N: N is the TLS alert number (received or to send); "
                    "'alert - (unknown N)': an alert DISPLAY_ALERT has no name for (e.g. 112).",
                    "cause": "none",
                    "confidence": "none",
                    "sources": [src(ax.name, "ssl/tls1.c", AXTLS_COMMIT, i)],
                }
            )
        elif body.startswith(("failed to grow", "ssl->need_bytes", "Error: maximum")):
            key = body.split()[0]
            cause, conf, meaning = AXTLS_PRINTF_MEANING[key]
            out.append(
                {
                    "id": "axtls.printf." + re.sub(r"\W+", "_", body[:30]).strip("_"),
                    "stack": "axtls",
                    "kind": "debug_line",
                    "code": None,
                    "name": "printf",
                    "text": body,
                    "meaning": meaning,
                    "cause": cause,
                    "confidence": conf,
                    "sources": [src(ax.name, "ssl/tls1.c", AXTLS_COMMIT, i)],
                }
            )
        if text.startswith("}"):
            in_display_error = in_display_alert = False
    x509c = ax.lines(AXTLS_COMMIT, "ssl/x509.c")
    case = None
    for i, text in enumerate(x509c, 1):
        if m := re.search(r"case (X509_\w+):", text):
            case = m.group(1)
        elif case and (m := re.search(r'strcpy_P\(buff, "(.*)"\);', text)):
            code = x509[case][0]
            cause, conf, meaning = AXTLS_X509_MEANING.get(case, ("none", "none", case))
            out.append(
                {
                    "id": f"axtls.x509.{code}",
                    "stack": "axtls",
                    "kind": "error_code",
                    "code": code - 512,
                    "name": case,
                    "text": "Error: " + m.group(1),
                    "meaning": meaning,
                    "cause": cause,
                    "confidence": conf,
                    "sources": [x509[case][1], src(ax.name, "ssl/x509.c", AXTLS_COMMIT, i)],
                }
            )
            case = None
    for tag, path in (("2.4.1", "WiFiClientSecure.cpp"), ("2.4.2", "WiFiClientSecureAxTLS.cpp")):
        for i, text in enumerate(esp.lines(tag, "libraries/ESP8266WiFi/src/" + path), 1):
            if m := re.search(r'DEBUGV\("((?:[^"\\]|\\.)*)"', text):
                body = c_string(m.group(1))
                key = re.sub(r"%\w", "%", body)
                if key in AXTLS_CORE_MEANING:
                    cause, conf, meaning = AXTLS_CORE_MEANING[key]
                    entry_id = "axtls.core." + re.sub(r"\W+", "_", key).strip("_")[:50]
                    prev = next((e for e in out if e["id"] == entry_id), None)
                    where = src(esp.name, "libraries/ESP8266WiFi/src/" + path, tag, i)
                    if prev:
                        prev["sources"].append(where)
                    else:
                        out.append(
                            {
                                "id": entry_id,
                                "stack": "axtls",
                                "kind": "debug_line",
                                "code": None,
                                "name": "DEBUGV",
                                "text": body,
                                "meaning": meaning,
                                "cause": cause,
                                "confidence": conf,
                                "sources": [where],
                            }
                        )
    return out


# -- mbedTLS ------------------------------------------------------------------------------------


def mbedtls(mb: Repo) -> list[dict]:
    codes: dict[str, tuple[int, dict]] = {}
    for header in sorted(Path("/usr/include/mbedtls").glob("*.h")):
        for i, text in enumerate(header.read_text(errors="replace").split("\n"), 1):
            if m := re.match(r"#define (MBEDTLS_ERR_\w+)\s+-0x([0-9A-Fa-f]+)", text):
                codes.setdefault(
                    m.group(1),
                    (
                        -int(m.group(2), 16),
                        src("Debian libmbedtls-dev 2.28.3", str(header), "2.28.3-1", i),
                    ),
                )
    texts: dict[str, list[tuple[str, dict]]] = {}
    for tag in MBEDTLS_TAGS:
        lines = mb.lines(tag, "library/error.c")
        for i, text in enumerate(lines, 1):
            m = re.search(r"-\((MBEDTLS_ERR_\w+)\)", text)
            if not m:
                continue
            for j in (i, i + 1):  # the text is on the line of the test or the next one
                if t := re.search(r'"((?:[^"\\]|\\.)*)"', lines[j - 1]):
                    texts.setdefault(m.group(1), []).append(
                        (c_string(t.group(1)), src(mb.name, "library/error.c", tag, j))
                    )
                    break
    out = []
    for name, (code, header_src) in sorted(codes.items(), key=lambda kv: -kv[1][0]):
        found = texts.get(name, [])
        text = found[-1][0] if found else ""
        cause, conf, meaning = MBEDTLS_MEANING.get(name, ("none", "none", ""))
        out.append(
            {
                "id": f"mbedtls.error.{code}",
                "stack": "mbedtls",
                "kind": "error_code",
                "code": code,
                "hex": f"-0x{-code:04X}",
                "name": name,
                "text": text,
                "meaning": meaning or text,
                "cause": cause,
                "confidence": conf,
                "sources": [header_src] + [s for _, s in found],
            }
        )
    for tag in MBEDTLS_TAGS:
        for i, text in enumerate(mb.lines(tag, "library/error.c"), 1):
            if "UNKNOWN ERROR CODE" in text:
                out.append(
                    {
                        "id": f"mbedtls.unknown.{tag}",
                        "stack": "mbedtls",
                        "kind": "error_text",
                        "code": None,
                        "name": "mbedtls_strerror",
                        "text": "UNKNOWN ERROR CODE (%04X)",
                        "meaning": "mbedtls_strerror has no text: a code of another layer (lwIP, "
                        "net_sockets), e.g. -76 (004C) NET_RECV_FAILED, -80 (0050) NET_CONN_RESET.",
                        "cause": "none",
                        "confidence": "none",
                        "sources": [src(mb.name, "library/error.c", tag, i)],
                    }
                )
                break
    for tag in MBEDTLS_TAGS:
        for i, text in enumerate(mb.lines(tag, "library/x509_crt.c"), 1):
            if m := re.search(
                r'\{\s*(MBEDTLS_X509_BADCERT_\w+|MBEDTLS_X509_BADCRL_\w+),\s*"(.*)"\s*\}', text
            ):
                cause, conf = VERIFY_INFO_MEANING.get(m.group(1), ("none", "none"))
                entry_id = "mbedtls.verify." + m.group(1).removeprefix("MBEDTLS_X509_").lower()
                prev = next((e for e in out if e["id"] == entry_id), None)
                where = src(mb.name, "library/x509_crt.c", tag, i)
                if prev:
                    prev["sources"].append(where)
                    continue
                out.append(
                    {
                        "id": entry_id,
                        "stack": "mbedtls",
                        "kind": "verify_info",
                        "code": None,
                        "name": m.group(1),
                        "text": m.group(2),
                        "meaning": "mbedtls_x509_crt_verify_info() line, printed after '! ' by "
                        "esp-tls and ssl_client.cpp when the chain check failed.",
                        "cause": cause,
                        "confidence": conf,
                        "sources": [where],
                    }
                )
    return out


# -- ESP8266 HTTPClient and DNS -------------------------------------------------------------------


def esp8266_net(esp: Repo) -> list[dict]:
    out: dict[str, dict] = {}
    h, c = (
        "libraries/ESP8266HTTPClient/src/ESP8266HTTPClient.h",
        "libraries/ESP8266HTTPClient/src/ESP8266HTTPClient.cpp",
    )
    for tag in ESP8266_AXTLS_TAGS + ESP8266_BEARSSL_TAGS:
        defs = {}
        for i, text in enumerate(esp.lines(tag, h), 1):
            if m := re.match(r"#define (HTTPC_ERROR_\w+)\s+\((-\d+)\)", text):
                defs[m.group(1)] = (int(m.group(2)), i)
        case = None
        for i, text in enumerate(esp.lines(tag, c), 1):
            if m := re.search(r"case (HTTPC_ERROR_\w+):", text):
                case = m.group(1)
            elif case and (m := re.search(r'return F\("(.*)"\);', text)):
                code, dline = defs[case]
                e = out.setdefault(
                    f"http.{code}.{m.group(1)}",
                    {
                        "id": f"esp8266.http.{code}." + re.sub(r"\W+", "_", m.group(1)),
                        "stack": "any",
                        "kind": "http_code",
                        "code": code,
                        "name": case,
                        "text": m.group(1),
                        "meaning": HTTP_MEANING[code][2],
                        "cause": HTTP_MEANING[code][0],
                        "confidence": HTTP_MEANING[code][1],
                        "sources": [],
                    },
                )
                e["sources"] += [src(esp.name, h, tag, dline), src(esp.name, c, tag, i)]
                case = None
            if "[HTTP-Client][returnError]" in text and (m := re.search(r'"(.*?)\\n"', text)):
                out.setdefault(
                    "http.returnError",
                    {
                        "id": "esp8266.http.returnError",
                        "stack": "any",
                        "kind": "debug_line",
                        "code": None,
                        "name": "DEBUG_HTTPCLIENT",
                        "text": m.group(1),
                        "meaning": "HTTPClient's error line; the number is an HTTPC_ERROR code.",
                        "cause": "none",
                        "confidence": "none",
                        "sources": [],
                    },
                )["sources"].append(src(esp.name, c, tag, i))
        g = "libraries/ESP8266WiFi/src/ESP8266WiFiGeneric.cpp"
        for i, text in enumerate(esp.lines(tag, g), 1):
            if "lookup error" in text and (
                m := re.search(r'"(\[hostByName\][^"]*?)(?:\\n)?"', text)
            ):
                out.setdefault(
                    "dns." + m.group(1),
                    {
                        "id": "esp8266.dns.lookup_error."
                        + ("3x" if "%s (%d)" in m.group(1) else "2x"),
                        "stack": "any",
                        "kind": "debug_line",
                        "code": None,
                        "name": "hostByName",
                        "text": m.group(1),
                        "meaning": "The name did not resolve: the number is lwIP's err_t "
                        "(-5 ERR_INPROGRESS: the lookup timed out, -6 ERR_VAL, -16 ERR_ARG).",
                        "cause": "dns_failed",
                        "confidence": "log",
                        "sources": [],
                    },
                )["sources"].append(src(esp.name, g, tag, i))
    for tag in ("2.5.2",):
        for i, text in enumerate(esp.lines(tag, "tools/sdk/lwip2/include/lwip/err.h"), 1):
            if m := re.match(r"\s*(ERR_\w+)\s*=\s*(-?\d+),\s*$", text):
                out[f"lwip.{m.group(1)}"] = {
                    "id": f"lwip.err.{m.group(2)}",
                    "stack": "any",
                    "kind": "error_code",
                    "code": int(m.group(2)),
                    "name": m.group(1),
                    "text": m.group(1),
                    "meaning": "lwIP err_t, as hostByName and the socket layer report it.",
                    "cause": "none",
                    "confidence": "none",
                    "sources": [src(esp.name, "tools/sdk/lwip2/include/lwip/err.h", tag, i)],
                }
        for i, text in enumerate(esp.lines(tag, "tools/sdk/lwip2/include/lwip/netdb.h"), 1):
            if m := re.match(
                r"#define (EAI_\w+|HOST_NOT_FOUND|NO_DATA|NO_RECOVERY|TRY_AGAIN)\s+(\d+)", text
            ):
                out[f"lwip.{m.group(1)}"] = {
                    "id": f"lwip.netdb.{m.group(2)}",
                    "stack": "any",
                    "kind": "error_code",
                    "code": int(m.group(2)),
                    "name": m.group(1),
                    "text": m.group(1),
                    "meaning": "lwIP getaddrinfo() result, as esp-tls prints it "
                    "('getaddrinfo() returns 202' = EAI_FAIL: the name did not resolve).",
                    "cause": "dns_failed" if m.group(1) in DNS_FAILURES else "none",
                    "confidence": "log" if m.group(1) in DNS_FAILURES else "none",
                    "sources": [src(esp.name, "tools/sdk/lwip2/include/lwip/netdb.h", tag, i)],
                }
    return list(out.values())


# -- what each message means for the diagnosis (ours) -------------------------------------------

X509_TRUST = ("untrusted_cert", "log")
DNS_FAILURES = ("EAI_FAIL", "EAI_NONAME", "HOST_NOT_FOUND")
BEARSSL_MEANING = {
    "BR_ERR_OK": ("none", "none", "No error."),
    "BR_ERR_RECV_FATAL_ALERT": (
        "none",
        "none",
        "Flag: 256+n is a fatal alert n received from the server (see bearssl.alert_received.n).",
    ),
    "BR_ERR_SEND_FATAL_ALERT": (
        "none",
        "none",
        "Flag: 512+n is a fatal alert n the board sent (see bearssl.alert_sent.n).",
    ),
    "BR_ERR_X509_OK": ("none", "none", "X.509 validation succeeded."),
    "BR_ERR_BAD_PARAM": ("none", "none", "A caller bug."),
    "BR_ERR_UNSUPPORTED_VERSION": (
        "protocol_version",
        "log",
        "The server's record or hello version is one the client does not speak.",
    ),
    "BR_ERR_BAD_VERSION": (
        "protocol_version",
        "likely",
        "A record version other than the negotiated one.",
    ),
    "BR_ERR_TOO_LARGE": (
        "record_too_large",
        "log",
        "A record larger than the receive buffer (setBufferSizes, MFLN not honoured).",
    ),
    "BR_ERR_BAD_MAC": (
        "none",
        "none",
        "A corrupted record or a wrong key; not a configuration cause.",
    ),
    "BR_ERR_BAD_CIPHER_SUITE": (
        "no_shared_cipher",
        "likely",
        "The server chose a suite the client did not offer (a server that ignores the offer).",
    ),
    "BR_ERR_BAD_FRAGLEN": (
        "record_too_large",
        "likely",
        "The server answered MFLN with another length.",
    ),
    "BR_ERR_INVALID_ALGORITHM": (
        "no_shared_cipher",
        "likely",
        "No curve, hash or signature algorithm in common.",
    ),
    "BR_ERR_LIMIT_EXCEEDED": ("none", "none", "The server's key is larger than BearSSL's limits."),
    "BR_ERR_NO_CLIENT_AUTH": (
        "none",
        "none",
        "Client certificate missing or refused (server side).",
    ),
    "BR_ERR_IO": (
        "none",
        "none",
        "The transport ended: the server closed or reset, or a timeout; the reason is elsewhere.",
    ),
    "BR_ERR_X509_EMPTY_CHAIN": ("untrusted_cert", "likely", "The server sent no certificate."),
    "BR_ERR_X509_TIME_UNKNOWN": (
        "cert_time_invalid",
        "log",
        "The board has no clock to check validity against.",
    ),
    "BR_ERR_X509_EXPIRED": (
        "cert_time_invalid",
        "log",
        "A certificate of the chain is expired or not yet valid by the board's clock.",
    ),
    "BR_ERR_X509_DN_MISMATCH": (
        "untrusted_cert",
        "log",
        "The chain's issuer/subject names do not link.",
    ),
    "BR_ERR_X509_BAD_SERVER_NAME": (
        "hostname_mismatch",
        "log",
        "The certificate does not name the host the sketch connected to.",
    ),
    "BR_ERR_X509_NOT_TRUSTED": (
        "untrusted_cert",
        "log",
        "The chain does not end at a trust anchor the board holds (or, with setFingerprint, the fingerprint differs).",
    ),
    "BR_ERR_X509_NOT_CA": ("untrusted_cert", "likely", "An intermediate is not a CA."),
    "BR_ERR_X509_BAD_SIGNATURE": (
        "untrusted_cert",
        "likely",
        "A signature of the chain does not verify.",
    ),
    "BR_ERR_X509_WEAK_PUBLIC_KEY": ("none", "none", "A key too small for BearSSL."),
}
ALERTS = {  # alert number -> (name, cause when the server sends it, confidence)
    0: ("close_notify", "none", "none"),
    10: ("unexpected_message", "none", "none"),
    20: ("bad_record_mac", "none", "none"),
    22: ("record_overflow", "none", "none"),
    40: ("handshake_failure", "no_shared_cipher", "likely"),
    42: ("bad_certificate", "none", "none"),
    43: ("unsupported_certificate", "none", "none"),
    45: ("certificate_expired", "none", "none"),
    46: ("certificate_unknown", "none", "none"),
    47: ("illegal_parameter", "none", "none"),
    48: ("unknown_ca", "none", "none"),
    50: ("decode_error", "none", "none"),
    51: ("decrypt_error", "none", "none"),
    70: ("protocol_version", "protocol_version", "log"),
    71: ("insufficient_security", "no_shared_cipher", "likely"),
    80: ("internal_error", "none", "none"),
    90: ("user_canceled", "none", "none"),
    112: ("unrecognized_name", "sni_required", "log"),
}
SENT_ALERTS = {
    22: ("record_too_large", "likely"),
    40: ("none", "none"),
    70: ("protocol_version", "likely"),
}
BSSL_DEBUG_MEANING = {
    "connect: Name loopup failure": ("dns_failed", "log", "The host name did not resolve."),
    "connect: Name lookup failure": ("dns_failed", "log", "The host name did not resolve."),
    "connect: Unable to connect TCP socket": (
        "tcp_connect_failed",
        "log",
        "The TCP connection failed.",
    ),
    "_run_until: Timeout": (
        "handshake_timeout",
        "log",
        "The engine waited longer than the timeout (15 s by default in the handshake).",
    ),
    "_wait_for_handshake: failed": (
        "none",
        "none",
        "The handshake failed; the reason is the next 'Couldn't connect' line.",
    ),
    "Couldn't connect. Error = '%'": (
        "none",
        "none",
        "The handshake failed with getLastSSLError()'s text.",
    ),
    "Connection *will* fail, no authentication method is setup": (
        "no_trust_method",
        "log",
        "No CA, fingerprint, known key or setInsecure(): BearSSL cannot validate the server.",
    ),
    "insecure_end_chain: Received cert FP doesn't match": (
        "fingerprint_mismatch",
        "log",
        "setFingerprint's SHA-1 is not the server certificate's.",
    ),
    "_connectSSL: OOM error": ("out_of_memory", "log", "No heap for the context or buffers."),
    "Connected!": ("none", "none", "The handshake finished."),
    "_connectSSL: start connection": (
        "none",
        "none",
        "The handshake starts (the ClientHello goes next).",
    ),
}
AXTLS_ERROR_MEANING = {
    "SSL_ERROR_DEAD": ("none", "none", "The connection is already dead."),
    "SSL_ERROR_RECORD_OVERFLOW": (
        "record_too_large",
        "log",
        "A record larger than axTLS's buffer.",
    ),
    "SSL_ERROR_INVALID_HANDSHAKE": (
        "none",
        "none",
        "A handshake message axTLS could not parse (an axTLS bug for some certificates).",
    ),
    "SSL_ERROR_INVALID_PROT_MSG": ("none", "none", "An unexpected protocol message."),
    "SSL_ERROR_INVALID_HMAC": ("none", "none", "A record's MAC did not verify."),
    "SSL_ERROR_INVALID_VERSION": (
        "protocol_version",
        "log",
        "The server's version is not one axTLS speaks.",
    ),
    "SSL_ERROR_NO_CIPHER": (
        "no_shared_cipher",
        "log",
        "The server chose a suite axTLS does not have.",
    ),
    "SSL_ERROR_CONN_LOST": ("none", "none", "The TCP connection was lost."),
    "SSL_ERROR_BAD_CERTIFICATE": (
        "untrusted_cert",
        "likely",
        "The server's certificate could not be used.",
    ),
    "SSL_ERROR_NO_CERT_DEFINED": ("none", "none", "No client certificate loaded for a request."),
}
AXTLS_ALERT_MEANING = {40: ("no_shared_cipher", "likely"), 70: ("protocol_version", "log")}
AXTLS_X509_MEANING = {
    "X509_VFY_ERROR_NO_TRUSTED_CERT": (
        "untrusted_cert",
        "log",
        "No CA the board holds signed the chain.",
    ),
    "X509_VFY_ERROR_BAD_SIGNATURE": (
        "untrusted_cert",
        "likely",
        "A signature of the chain does not verify.",
    ),
    "X509_VFY_ERROR_NOT_YET_VALID": (
        "cert_time_invalid",
        "log",
        "Not yet valid by the board's clock (often: the clock was never set, or a date past 2038 wrapped).",
    ),
    "X509_VFY_ERROR_EXPIRED": ("cert_time_invalid", "log", "Expired by the board's clock."),
    "X509_VFY_ERROR_SELF_SIGNED": (
        "untrusted_cert",
        "log",
        "A self-signed certificate that is not a CA the board holds.",
    ),
    "X509_VFY_ERROR_INVALID_CHAIN": (
        "untrusted_cert",
        "likely",
        "The chain's order or links are wrong.",
    ),
    "X509_VFY_ERROR_UNSUPPORTED_DIGEST": ("none", "none", "A digest axTLS cannot check."),
    "X509_VFY_ERROR_BASIC_CONSTRAINT": (
        "untrusted_cert",
        "likely",
        "A CA's basic constraints forbid the chain.",
    ),
}
AXTLS_PRINTF_MEANING = {
    "failed": ("out_of_memory", "log", "axTLS could not allocate a larger record buffer."),
    "ssl->need_bytes=%d": (
        "out_of_memory",
        "likely",
        "A record needs more buffer than allocated; axTLS will try to grow it.",
    ),
    "Error:": ("none", "none", "A compile-time limit of certificates."),
}
AXTLS_CORE_MEANING = {
    "fingerprint doesn't match": (
        "fingerprint_mismatch",
        "log",
        "verify(): the SHA-1 given is not the server certificate's.",
    ),
    "pos:% len:% fingerprint too short": (
        "none",
        "none",
        "The fingerprint string given is malformed.",
    ),
    ":wcs alloc % failed": ("out_of_memory", "log", "The core could not allocate the SSL context."),
    "ssl_verify_cert returned %": (
        "none",
        "none",
        "verifyCertChain failed; the 'Error:' line after it says why.",
    ),
}
MBEDTLS_MEANING = {
    "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED": (
        "untrusted_cert",
        "likely",
        "The chain check failed. Without the verification info it is most often a CA that does not chain the server; a name mismatch gives the same code, and arduino-esp32 does not check dates.",
    ),
    "MBEDTLS_ERR_X509_FATAL_ERROR": (
        "untrusted_cert",
        "likely",
        "A fatal verify error, e.g. the certificate bundle's callback refused the chain.",
    ),
    "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE": (
        "none",
        "none",
        "The server sent a fatal alert; which one only a debug build or a capture says.",
    ),
    "MBEDTLS_ERR_SSL_ALLOC_FAILED": ("out_of_memory", "log", "No heap for the TLS buffers."),
    "MBEDTLS_ERR_X509_ALLOC_FAILED": (
        "out_of_memory",
        "log",
        "No heap while parsing a certificate.",
    ),
    "MBEDTLS_ERR_PK_ALLOC_FAILED": ("out_of_memory", "log", "No heap for a key."),
    "MBEDTLS_ERR_MPI_ALLOC_FAILED": ("out_of_memory", "log", "No heap for big-number work."),
    "MBEDTLS_ERR_CIPHER_ALLOC_FAILED": ("out_of_memory", "log", "No heap for a cipher context."),
    "MBEDTLS_ERR_SSL_CONN_EOF": (
        "none",
        "none",
        "The server closed the connection during the handshake; the reason is on its side.",
    ),
    "MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY": ("none", "none", "The server closed the session cleanly."),
    "MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL": (
        "none",
        "none",
        "A record does not fit a buffer; on a write it is the application's record.",
    ),
    "MBEDTLS_ERR_SSL_INVALID_RECORD": (
        "none",
        "none",
        "A record mbedTLS could not take: with a cut-down IN_CONTENT_LEN a record larger than "
        "the buffer, with the full one a corrupted or foreign record; the log alone does not "
        "tell which.",
    ),
    "MBEDTLS_ERR_SSL_TIMEOUT": ("handshake_timeout", "log", "The read timed out."),
    "MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION": (
        "protocol_version",
        "log",
        "No TLS version in common.",
    ),
    "MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN": ("no_shared_cipher", "log", "No suite in common."),
    "MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE": ("no_shared_cipher", "log", "No suite in common."),
    "MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED": (
        "no_trust_method",
        "log",
        "Verification required but no CA chain was given.",
    ),
    "MBEDTLS_ERR_NET_UNKNOWN_HOST": ("dns_failed", "log", "The name did not resolve."),
    "MBEDTLS_ERR_NET_CONNECT_FAILED": ("tcp_connect_failed", "log", "The TCP connect failed."),
    "MBEDTLS_ERR_NET_CONN_RESET": ("none", "none", "The peer reset the connection."),
    "MBEDTLS_ERR_NET_RECV_FAILED": ("none", "none", "A read on the socket failed."),
    "MBEDTLS_ERR_NET_SEND_FAILED": ("none", "none", "A write on the socket failed."),
}
VERIFY_INFO_MEANING = {
    "MBEDTLS_X509_BADCERT_EXPIRED": ("cert_time_invalid", "log"),
    "MBEDTLS_X509_BADCERT_FUTURE": ("cert_time_invalid", "log"),
    "MBEDTLS_X509_BADCERT_CN_MISMATCH": ("hostname_mismatch", "log"),
    "MBEDTLS_X509_BADCERT_NOT_TRUSTED": X509_TRUST,
    "MBEDTLS_X509_BADCERT_MISSING": ("untrusted_cert", "likely"),
    "MBEDTLS_X509_BADCERT_SKIP_VERIFY": ("none", "none"),
    "MBEDTLS_X509_BADCERT_BAD_KEY": ("none", "none"),
    "MBEDTLS_X509_BADCERT_BAD_PK": ("none", "none"),
    "MBEDTLS_X509_BADCERT_BAD_MD": ("none", "none"),
}
HTTP_MEANING = {
    -1: (
        "none",
        "none",
        "connect() failed: DNS, TCP or the TLS handshake; the lines before it say which.",
    ),
    -2: ("none", "none", "Sending the request headers failed."),
    -3: ("none", "none", "Sending the body failed."),
    -4: ("none", "none", "Not connected (often after -1)."),
    -5: ("none", "none", "The connection was lost while reading."),
    -6: ("none", "none", "No stream given."),
    -7: ("none", "none", "The server's answer is not HTTP."),
    -8: ("out_of_memory", "log", "Not enough RAM for the response."),
    -9: ("none", "none", "An unsupported Transfer-Encoding."),
    -10: ("none", "none", "Writing to the stream failed."),
    -11: ("none", "none", "The server did not answer in time after the connection."),
}


def write(path: Path, entries: list[dict], header: str) -> None:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[\n    " + ",\n    ".join(value(x) for x in v) + ",\n]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
        return f'"{s}"'

    out = [header, ""]
    for e in entries:
        out.append("[[message]]")
        out += [f"{k} = {value(v)}" for k, v in e.items() if v is not None]
        out.append("")
    path.write_text("\n".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = ap.parse_args()
    esp = Repo(args.mirrors / "esp8266+Arduino" / "repo", "esp8266/Arduino")
    ax = Repo(args.mirrors / "igrr+axtls-8266" / "repo", "igrr/axtls-8266")
    mb = Repo(args.mirrors / "Mbed-TLS+mbedtls" / "repo", "Mbed-TLS/mbedtls")
    head = "# Generated by scripts/catalogue_from_sources.py from the sources each entry cites; do not edit\n# by hand (meaning, cause and confidence are the script's tables)."
    write(OUT / "bearssl.toml", bearssl(esp), head)
    write(OUT / "axtls.toml", axtls(ax, esp), head)
    write(OUT / "mbedtls.toml", mbedtls(mb), head)
    write(OUT / "network.toml", esp8266_net(esp), head)


if __name__ == "__main__":
    main()
