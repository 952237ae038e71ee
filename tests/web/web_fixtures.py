"""Seeded-database fixtures shared by tests/web and tests/security (imported by their conftests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.web_seed import Seeded, seed
from web_helpers import pg_clone, pg_drop, pg_url, settings_for

from callback_service.app import App, build_app


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Seeded]]:
    """One seeded database per module and backend, for tests that only read."""
    tmp: Path = tmp_path_factory.mktemp("web")
    pg_name = None
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp / "test.db")
        url = f"sqlite:///{tmp / 'test.db'}"
    else:
        pg_name = pg_clone(request.getfixturevalue("pg_template"))
        url = pg_url(pg_name)
    application = build_app(settings_for(url, tmp / "var"))
    data = seed(application)
    yield application, data
    application.close()
    if pg_name:
        pg_drop(pg_name)


@pytest.fixture
def web(app: App) -> tuple[App, Seeded]:
    """A freshly seeded database per test, on SQLite and PostgreSQL, for tests that write."""
    app.settings = settings_for(app.settings.database_url, app.settings.var_dir)
    return app, seed(app)
