"""Pytest plugin for the pipeline tests: a fresh PostgreSQL database, a private RabbitMQ vhost and
one assembled speech model per session. Use with ``pytest_plugins = ["support.pipeline_fixtures"]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.pgdb import pg_clone, pg_drop, pg_url
from support.pipeline_env import RABBIT_URL, rabbitmqctl


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[str]:
    name = pg_clone(pg_template, prefix="cbd")
    yield pg_url(name)
    pg_drop(name)


@pytest.fixture
def rabbit_vhost() -> Iterator[str]:
    """A private vhost: its queues vanish with it, so no run sees another's messages."""
    vhost = f"cbt_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"{RABBIT_URL}/{vhost}"
    rabbitmqctl("delete_vhost", vhost)
