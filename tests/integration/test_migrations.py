from sqlalchemy import inspect

from callback_service.db.migrate import current_revision, head_revision, upgrade
from callback_service.db.models import Base
from callback_service.db.session import make_engine


def test_migrations_create_every_model_table_from_empty(db_url: str) -> None:
    engine = make_engine(db_url)
    # db_url is already migrated from the template: upgrading again must be a no-op
    assert upgrade(engine) == head_revision(engine) == current_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_upgrade_from_empty_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()
