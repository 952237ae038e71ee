"""Composition root: builds the engine, dialer, transcriber, scorer and runners from settings.

Nothing else reads configuration or constructs clients; parts receive what they need here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callback_service.config import Settings, load_settings
from callback_service.db.session import make_engine, make_session_factory
from callback_service.intake.validate import Limits

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @property
    def intake_limits(self) -> Limits:
        s = self.settings
        return Limits(tz=s.tz, id_hash_key=s.id_hash_key, max_field_length=s.max_field_length)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_app(settings: Settings | None = None, **overrides: Any) -> App:
    return App(settings or load_settings(**overrides))
