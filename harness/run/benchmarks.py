"""Benchmarks: figures measured side by side with their baseline in the same run.

A benchmark is a module under `bench/` (shipped in the package too) with `NAME`
and `measure(runs: int) -> Figure` (or a list of Figures measured in the same run).
It is not a test: nothing here asserts on time; the figures are for reading and
for comparing runs (`hil bench --json`, one JSON object a line).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

from harness.model.errors import ConfigError
from harness.run.shipped import shipped_dir


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: str  # what the value is compared with
    baseline_value: float
    runs: int

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("inf")

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ratio": round(self.ratio, 4)}

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.value:.4g} {self.unit} vs {self.baseline} "
            f"{self.baseline_value:.4g} {self.unit} -> ratio {self.ratio:.3f} ({self.runs} runs)"
        )


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `fn` over `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextlib.contextmanager
def twin_real_time() -> Iterator[None]:
    """The old path, for baselines: twins started inside sleep through every delay()
    (HIL_TWIN_REAL_TIME=1, as before virtual time; the environment reaches them)."""
    before = os.environ.get("HIL_TWIN_REAL_TIME")
    os.environ["HIL_TWIN_REAL_TIME"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HIL_TWIN_REAL_TIME", None)
        else:
            os.environ["HIL_TWIN_REAL_TIME"] = before


def discover(directory: Path | None = None) -> dict[str, ModuleType]:
    directory = directory or shipped_dir("bench")
    found = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"hil_bench_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.NAME] = module
    return found


def select(names: list[str], directory: Path | None = None) -> list[ModuleType]:
    modules = discover(directory)
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise ConfigError(
            f"unknown benchmark(s): {', '.join(unknown)}",
            fix=f"use one of: {', '.join(sorted(modules))}",
        )
    return [modules[n] for n in names] if names else list(modules.values())
