"""Ships the repository's sketches/ and bench/ inside the wheel, as harness/shipped/.

They live at the top of the repository (where a reader looks for them, and where
an editable install finds them); a non-editable install has no repository, so the
build copies them into the package. harness/run/shipped.py finds either.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("sketches", "bench")


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        for name in SHIPPED:
            shutil.copytree(
                here / name,
                Path(self.build_lib) / "harness" / "shipped" / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildPyWithShipped})
