"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL.

The schema is migrated once per session into a template (a file for SQLite, a template database for
PostgreSQL); each test gets a fresh copy, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from callback_service.app import App, build_app
from callback_service.config import load_settings
from callback_service.db.migrate import upgrade
from callback_service.db.session import make_engine

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CALLBACK_SERVICE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"cbt_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - only when the server is down
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    engine = make_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(template: str) -> str:
    name = f"cbt_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name


def _drop_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    name = _fresh_pg(request.getfixturevalue("pg_template"))
    yield _pg_url(name)
    _drop_pg(name)


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
