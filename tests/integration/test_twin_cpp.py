"""The twin's C++ units (DER reader, record splitters, the axTLS certificate parser, the
TCP connection with deadlines and the loopback guard) built
with the address and undefined-behaviour sanitizers and run: any out-of-bounds read, leak
or undefined behaviour fails the test (-fno-sanitize-recover=all)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.instruments import procs
from harness.instruments.certs import get_plan, make_certs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "harness" / "twin" / "core"
TESTS = REPO / "tests" / "twin_cpp"
UNITS = [
    CORE / "common" / "der.cpp",
    CORE / "common" / "twin_tcp.cpp",
    CORE / "common" / "twin_net.cpp",
    CORE / "common" / "twin_io.cpp",
    CORE / "common" / "twin_clock.cpp",
    CORE / "esp8266_axtls" / "axtls_x509.cpp",
]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def test_twin_units_under_asan_and_ubsan(tmp_path):
    gxx = shutil.which("g++")
    assert gxx, "g++ is part of the set-up (build-essential)"
    program = tmp_path / "twin_units"
    build = procs.run(
        [
            gxx, "-std=gnu++17", "-g", "-O1", "-Wall", *SANITIZE,
            f"-I{CORE / 'common'}", f"-I{CORE / 'esp8266_axtls'}", f"-I{TESTS}",
            *sorted(TESTS.glob("*.cpp")), *UNITS, "-o", program,
        ],
        timeout=300,
        log_path=tmp_path / "build.log",
    )  # fmt: skip
    assert build.returncode == 0, build.output[-3000:]
    certs = [
        make_certs(get_plan(plan), "127.0.0.1", tmp_path / plan, tmp_path / "keys").cert_der
        for plan in ("founding-report", "ca-rsa-2048")
    ]
    run = procs.run(
        [program, *certs],
        timeout=300,
        log_path=tmp_path / "run.log",
        env={
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
            "UBSAN_OPTIONS": "print_stacktrace=1",
        },
    )
    assert run.returncode == 0, run.output[-3000:]
    last = run.output.strip().splitlines()[-1]
    assert last.endswith(", 0 failed") and not last.startswith("0 passed"), last
