"""A scenario composed from options (`hil run --board B --profile P ...`), not a file.

The same checks a scenario file gets: the board and the profile must exist, the
cause must be in the catalogue, the sketch folder must be there. Without a sketch,
the board's family and stack choose the default HTTPS GET (harness/model/sketches.py).
"""

from __future__ import annotations

from pathlib import Path

from harness.instruments.boards import get_board_spec
from harness.instruments.boards.base import core_id
from harness.instruments.servers.profiles import load_profile
from harness.model import Expectation, Scenario
from harness.model.causes import CAUSES
from harness.model.errors import ConfigError
from harness.model.sketches import DEFAULT_SERVER_NAME, default_sketch


def _expectation(connected: str | None, cause: str | None) -> Expectation:
    if cause is not None and cause not in CAUSES:
        raise ConfigError(
            f"--expect-cause {cause!r} is not in the catalogue",
            fix=f"use one of: {', '.join(sorted(CAUSES))}",
        )
    if cause is not None and connected == "yes":
        raise ConfigError(
            f"--expect-connected yes with --expect-cause {cause}: a run that connects has no cause",
            fix="drop one of the two",
        )
    if connected not in (None, "yes", "no"):
        raise ConfigError(f"--expect-connected {connected!r}", fix="yes or no")
    # Without a word about it, the default sketch is expected to connect.
    return Expectation(connected=connected != "no" and cause is None, cause=cause)


def compose_scenario(
    *,
    board: str | None,
    profile: str | None,
    sketch: Path | None = None,
    backend: str = "builtin",
    expect_connected: str | None = None,
    expect_cause: str | None = None,
    defines: dict[str, str] | None = None,
) -> Scenario:
    if not board or not profile:
        raise ConfigError(
            "a composed run needs both --board and --profile",
            seen=f"--board {board or '(none)'} --profile {profile or '(none)'}",
            fix="hil run --board twin-esp8266-axtls --profile do-2016-ssl-params-fixed",
        )
    spec = get_board_spec(board)
    server = load_profile(profile)
    if backend not in server.backends:
        raise ConfigError(
            f"profile {profile} does not run on the {backend} backend",
            fix=f"use --backend {' or '.join(server.backends)}",
        )
    if sketch is None:
        sketch_name = default_sketch(spec.name, core_id(spec), spec.stack)
    else:
        sketch = Path(sketch).resolve()
        if not sketch.is_dir():
            raise ConfigError(f"--sketch {sketch} is not a directory", fix="pass a sketch folder")
        sketch_name = str(sketch)  # the runner joins it to sketches/; absolute stays absolute
    # A composed run's sketch is meant to connect: on the twin it dials a host name (the
    # twin maps it to the bench address; the certificate has it as a dNSName SAN). By
    # the IP literal, BearSSL (error 56) and mbedTLS 2.x (-9984) fail every CA-verified
    # connect to a certificate with an iPAddress SAN, as on the boards. A user's sketch
    # dials what it hard-codes instead.
    server_name = DEFAULT_SERVER_NAME if spec.kind == "twin" else None
    label = Path(sketch_name).name
    return Scenario(
        name=f"{board}--{profile}--{label}" + (f"--{backend}" if backend != "builtin" else ""),
        description=f"{label} on {board} against {profile} ({backend})",
        sketch=sketch_name,
        board=board,
        profile=profile,
        expectation=_expectation(expect_connected, expect_cause),
        backend=backend,
        defines=dict(defines or {}),
        server_name=server_name,
    )
