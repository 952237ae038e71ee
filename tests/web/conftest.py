"""Fixtures for the web tests: a seeded database per backend (shared or per test)."""

from web_fixtures import seeded, web  # noqa: F401  (fixtures, registered by import)
