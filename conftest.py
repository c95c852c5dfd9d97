"""Root conftest: makes `tests.*` importable; the harness's own fixtures come from its
pytest11 plugin (harness.pytest_plugin), as they do for users."""

pytest_plugins = ["pytester"]
