"""Where the sketches and the benchmarks are: inside the installed package
(`harness/shipped/`, copied there by the wheel's build, see setup.py), or at the
top of the repository for a checkout and an editable install."""

from __future__ import annotations

from pathlib import Path

from harness.model.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def shipped_dir(name: str) -> Path:
    """The folder `name` ("sketches" or "bench") of this installation."""
    for candidate in (PACKAGE_DIR / "shipped" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        f"the package's {name} folder is missing",
        seen=f"neither {PACKAGE_DIR / 'shipped' / name} nor {PACKAGE_DIR.parent / name}",
        fix="reinstall esp-tls-hil (pip install .), or point the option at a folder",
    )
