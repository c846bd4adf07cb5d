"""Fixtures for every test: the Faseeh simulator."""

pytest_plugins = ["simulator.pytest_plugin"]
