"""Root conftest: makes `tests.*` importable and marks each test by its folder; the
harness's own fixtures come from its pytest11 plugin (harness.pytest_plugin), as they
do for users."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# tests/<folder>/ -> marker, so `-m "not scenario"` gives a quick run.
_FOLDER_MARKS = {"integration": "integration", "scenarios": "scenario"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for folder, mark in _FOLDER_MARKS.items():
            if "tests" in parts and folder in parts:
                item.add_marker(getattr(pytest.mark, mark))
