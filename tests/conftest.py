"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL.

The schema is migrated once per session into a template (a file for SQLite, a template database for
PostgreSQL); each test gets a fresh copy, so tests never see each other's rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.pgdb import PG_ADMIN_URL, pg_clone, pg_create, pg_drop, pg_url

from callback_service.app import App, build_app
from callback_service.config import load_settings
from callback_service.db.migrate import upgrade
from callback_service.db.session import make_engine

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        name = pg_create("cbt_tpl")
    except Exception as exc:  # pragma: no cover - only when the server is down
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    engine = make_engine(pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    pg_drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    name = pg_clone(request.getfixturevalue("pg_template"))
    yield pg_url(name)
    pg_drop(name)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    settings = load_settings(env={}, database_url=db_url, var_dir=tmp_path / "var",
                             rules_path=REPO / "callback_rules.yaml", surveys_dir=REPO / "survey_templates",
                             prompts_dir=REPO / "scripts_voice" / "audio", secret_key="test-secret")
    application = build_app(settings)
    yield application
    application.close()


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_template: Path) -> Iterator[App]:
    """SQLite only, for tests whose subject is not the database."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    settings = load_settings(env={}, database_url=f"sqlite:///{path}", var_dir=tmp_path / "var",
                             rules_path=REPO / "callback_rules.yaml", surveys_dir=REPO / "survey_templates",
                             prompts_dir=REPO / "scripts_voice" / "audio", secret_key="test-secret")
    application = build_app(settings)
    yield application
    application.close()
