"""Throwaway PostgreSQL databases for tests: cloned from a migrated template, dropped afterwards."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("CALLBACK_SERVICE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def _admin(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(sql))
    finally:
        admin.dispose()


def pg_create(prefix: str = "cbt", template: str | None = None) -> str:
    """A new database (a copy of ``template`` when given); returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def pg_clone(template: str, prefix: str = "cbt") -> str:
    return pg_create(prefix, template)


def pg_drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
