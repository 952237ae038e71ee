"""Alembic environment: the URL comes from the caller (db.migrate), never from a config file."""

from __future__ import annotations

from alembic import context

from callback_service.db.models import Base

config = context.config
connection = config.attributes.get("connection")


def run() -> None:
    if connection is None:
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                          render_as_batch=True, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
