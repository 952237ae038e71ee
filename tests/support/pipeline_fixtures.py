"""Pytest plugin for the pipeline tests: a fresh PostgreSQL database, a private RabbitMQ vhost and
one assembled speech model per session. Use with ``pytest_plugins = ["support.pipeline_fixtures"]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from support.pipeline_env import PG_ADMIN_URL, RABBIT_URL, rabbitmqctl


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[str]:
    name = f"cbd_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def rabbit_vhost() -> Iterator[str]:
    """A private vhost: its queues vanish with it, so no run sees another's messages."""
    vhost = f"cbt_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"{RABBIT_URL}/{vhost}"
    rabbitmqctl("delete_vhost", vhost)
