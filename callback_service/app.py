"""Composition root: builds the engine, dialer, transcriber, scorer and runners from settings.

Nothing else reads configuration or constructs clients; parts receive what they need here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callback_service.config import Settings, load_settings
from callback_service.db.session import make_engine, make_session_factory
from callback_service.intake.validate import Limits
from callback_service.pipeline.context import StageContext
from callback_service.selection.planner import PlanContext
from callback_service.selection.ruleset import Rules, load_rules
from callback_service.surveys.loader import load_all
from callback_service.surveys.model import Survey
from callback_service.telephony.dialer import Dialer
from callback_service.tickets.rules import SlaPolicy
from callback_service.tickets.service import TicketPolicy

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

    @cached_property
    def rules(self) -> Rules:
        return load_rules(self.settings.rules_path if self.settings.rules_path.exists() else None)

    @cached_property
    def surveys(self) -> dict[str, Survey]:
        return load_all(self.settings.surveys_dir, bureau_name=self.settings.bureau_name)

    @property
    def ticket_policy(self) -> TicketPolicy:
        s = self.settings
        sla = SlaPolicy({"urgent": s.sla_urgent_hours, "high": s.sla_high_hours, "normal": s.sla_normal_hours})
        return TicketPolicy(sla, timedelta(hours=s.verification_delay_hours))

    def plan_context(self, worker: str = "scheduler", dialer: str | None = None) -> PlanContext:
        return PlanContext(rules=self.rules, tickets=self.ticket_policy, worker=worker,
                           dialer=dialer or self.settings.dialer, lease=timedelta(seconds=self.settings.lease_seconds))

    @cached_property
    def transcriber(self) -> Any:
        from callback_service.transcription.factory import build_transcriber
        return build_transcriber(self.settings)

    @cached_property
    def scorer(self) -> Any:
        from callback_service.scoring.factory import build_scorer
        return build_scorer(self.settings)

    def build_dialer(self) -> Dialer | None:
        """The configured production dialer; ``simulated`` has no standing network (the demo builds one)."""
        s = self.settings
        if s.dialer == "asterisk":
            from callback_service.telephony.asterisk.client import AmiSettings
            from callback_service.telephony.asterisk.dialer import AsteriskDialer, AsteriskDialerSettings
            from callback_service.telephony.asterisk.trunks import Trunk
            return AsteriskDialer(AsteriskDialerSettings(
                ami=AmiSettings(host=s.ami_host, port=s.ami_port, username=s.ami_username, secret=s.ami_secret),
                trunks=(Trunk("carrier", s.ami_trunk_channel, s.trunk_max_concurrent),),
                spool_prefix=s.ami_spool_prefix))
        if s.dialer == "sip":
            from callback_service.telephony.sip.factory import build_sip_dialer
            return build_sip_dialer(s)
        return None

    @property
    def recording_key(self) -> Any:
        """MultiFernet from settings.recording_key_file, or None: recordings stay plain."""
        from callback_service.security.recordings import load_key
        return load_key(self.settings.recording_key_file)

    def stage_context(self, dialer: Dialer | None = None, worker: str = "worker") -> StageContext:
        dialer = dialer if dialer is not None else self.overrides.get("dialer")
        return StageContext(
            sessions=self.sessions, plan=self.plan_context(worker, dialer.name if dialer else None),
            surveys=self.surveys, recordings_root=self.settings.recordings_path, dialer=dialer,
            get_transcriber=lambda: self.overrides.get("transcriber") or self.transcriber,
            get_scorer=lambda: self.overrides.get("scorer") or self.scorer, caller_id=self.settings.caller_id,
            recording_key=self.recording_key)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_app(settings: Settings | None = None, **overrides: Any) -> App:
    return App(settings or load_settings(**overrides))
