"""``callback-service demo``: a fresh embedded database, a realistic import, one full callback round.

The round goes through the real SIP path on loopback (Kamailio + pyVoIP citizens) where those can
run, and otherwise through the clearly labelled simulated network. Transcription (faster-whisper)
and scoring are the real ones either way. The demo runs on a "demo clock" that starts at the next
calling window and runs with real time (so real calls have real durations), and jumps forward to due
retries, so it shows calls whatever the time of day.

Real calls play the full survey templates (one to two and a half minutes each), so the SIP demo
imports fewer reports (``SIP_REPORTS``) than the simulated one; the network is therefore chosen,
and started, before the import.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from callback_service.app import App, build_app
from callback_service.config import PROJECT_ROOT, Settings
from callback_service.db.migrate import upgrade
from callback_service.db.models import (
    Answer,
    CallAttempt,
    CallbackTask,
    Phone,
    Report,
    Score,
    Ticket,
    Transcript,
)
from callback_service.demo.citizens import Script, scripts_for
from callback_service.demo.sample import sample_reports
from callback_service.intake.parsers import FIELDS, read_file
from callback_service.intake.service import ImportResult, import_rows
from callback_service.pipeline.inprocess import InProcessRunner
from callback_service.selection.calendar import next_callable_at
from callback_service.telephony.dialer import Dialer
from callback_service.telephony.simulated import Citizen, SimulatedDialer

log = logging.getLogger(__name__)
CORPUS = PROJECT_ROOT / "tests" / "fixtures" / "answers"
MAX_CLOCK_STEPS = 6
SIMULATED_REPORTS = 36
SIP_REPORTS = 12            # about 6 minutes of real calls, 4 at a time (the trunk's pacing limit)
SIP_RING_TIMEOUT_S = 15.0   # shorter than production's 30 s: the unanswered demo citizen rings 3 times
SIP_DIAL_WORKERS = 4


class DemoClock:
    """Starts at ``start`` and runs with real time; ``jump_to`` moves it forward to a later instant."""

    def __init__(self, start: datetime) -> None:
        self._base, self._since = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._since)

    @property
    def now(self) -> datetime:
        return self()

    def jump_to(self, when: datetime) -> None:
        if when > self():
            self._base, self._since = when, time.monotonic()


def demo_settings(base: Settings) -> Settings:
    var = base.var_dir / "demo"
    return replace(base, var_dir=var, database_url=f"sqlite:///{(var / 'demo.db').as_posix()}",
                   recordings_dir=var / "recordings", cookie_secure=False)


def _write_export(path: Path, rows: list[dict[str, Any]]) -> None:
    """The sample goes in as the dispatch platform exports it: GBK CSV, CRLF."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(FIELDS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("gbk"))


def _simulated(scripts: list[Script], clock: DemoClock) -> SimulatedDialer:
    citizens = {s.phone_e164: Citizen(outcome=s.outcomes[0], outcomes_after=s.outcomes[1:], digits=s.digits,
                                      speech=s.clip) for s in scripts}
    return SimulatedDialer(citizens, clock=clock)


def _network(kind: str, app: App, clock: DemoClock,
             stack: ExitStack) -> tuple[str, Dialer, list[dict[str, Any]]]:
    """The network the round dials through, and the sample reports whose phones ring on it."""
    today = clock.now.astimezone(app.settings.tz)
    if kind in ("auto", "sip"):
        rows = sample_reports(today, count=SIP_REPORTS)
        try:
            from callback_service.demo.sip_network import start_sip_network
            dialer = start_sip_network(scripts_for(rows, CORPUS), stack, surveys=app.surveys,
                                       prompts_dir=app.settings.prompts_dir, clock=clock)
            return "sip-loopback", dialer, rows
        except Exception as exc:  # Kamailio or pyVoIP missing, or ports unavailable
            if kind == "sip":
                raise
            log.warning("SIP loopback network unavailable (%s): using the simulated network", exc)
    rows = sample_reports(today, count=SIMULATED_REPORTS)
    return "simulated", _simulated(scripts_for(rows, CORPUS), clock), rows


def _import(app: App, rows: list[dict[str, Any]]) -> ImportResult:
    export = app.settings.var_dir / "dispatch-export.csv"
    _write_export(export, rows)
    return import_rows(app.sessions, read_file(export), app.intake_limits, filename=export.name, actor="demo")


def _advance(app: App, clock: DemoClock, horizon: datetime) -> bool:
    with app.sessions() as s:
        nxt = s.scalar(select(func.min(CallbackTask.call_at)).where(CallbackTask.status == "pending"))
    if nxt is None or nxt > horizon:
        return False
    clock.jump_to(nxt)
    return True


def run_demo(base: Settings, network: str = "auto") -> tuple[App, dict[str, Any]]:
    settings = demo_settings(base)
    shutil.rmtree(settings.var_dir, ignore_errors=True)
    settings.var_dir.mkdir(parents=True)
    app = build_app(settings)
    upgrade(app.engine)
    clock = DemoClock(next_callable_at(datetime.now(UTC), app.rules).astimezone(UTC))
    with ExitStack() as stack:
        kind, dialer, rows = _network(network, app, clock, stack)
        imported = _import(app, rows)
        ctx = app.stage_context(dialer=dialer, worker="demo")
        ctx.clock = clock
        if kind != "simulated":
            ctx.ring_timeout_s = SIP_RING_TIMEOUT_S
        runner = InProcessRunner(ctx, dial_workers=2 if kind == "simulated" else SIP_DIAL_WORKERS)
        horizon = clock.now + timedelta(hours=10)
        try:
            for _ in range(MAX_CLOCK_STEPS):
                runner.run_round()
                if not _advance(app, clock, horizon):
                    break
        finally:
            runner.shutdown()
    summary = summarise(app, kind, imported.imported, len(imported.rejected))
    summary["keys_off_script"] = len(keys_off_script(app, scripts_for(rows, CORPUS)))
    summary["demo_clock"] = clock.now.astimezone(settings.tz).replace(microsecond=0).isoformat()
    return app, summary


def keys_off_script(app: App, scripts: list[Script]) -> list[tuple[int, str]]:
    """(attempt, question) where the key on record is not the one the citizen was scripted to press:
    on the SIP network, a sign that the citizen's steps and the survey's prompts fell out of step."""
    by_phone = {s.phone_e164: s for s in scripts}
    off = []
    with app.sessions() as s:
        rows = s.execute(select(CallAttempt.id, CallAttempt.survey, Phone.e164, Answer.question_id, Answer.dtmf)
                         .join(Phone, Phone.id == CallAttempt.phone_id)
                         .join(Answer, Answer.attempt_id == CallAttempt.id))
        for attempt_id, survey, phone, qid, dtmf in rows:
            script, template = by_phone.get(phone or ""), app.surveys.get(survey)
            if script is None or template is None or template.question(qid).kind not in ("dtmf", "both"):
                continue
            if (script.digits.get(qid, script.digits.get("*", "")) or None) != dtmf:
                off.append((attempt_id, qid))
    if off:
        log.warning("%s answers differ from the citizens' scripts: %s", len(off), off)
    return off


def summarise(app: App, network: str, imported: int, rejected: int) -> dict[str, Any]:
    with app.sessions() as s:
        count = lambda model, *where: s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # noqa: E731
        answered = count(CallAttempt, CallAttempt.disposition.in_(("answered_complete", "answered_partial")))
        labels = Counter(s.scalars(select(Score.label)))
        reasons = Counter(s.scalars(select(Ticket.reason)))
        return {
            "network": network, "reports": count(Report), "imported": imported, "rejected": rejected,
            "calls": count(CallAttempt), "answered": answered, "transcripts": count(Transcript),
            "scores": count(Score), "tickets": count(Ticket), "labels": dict(labels),
            "ticket_reasons": dict(reasons), "urgent": count(Score, Score.urgent.is_(True)),
            "retries_pending": count(CallbackTask, CallbackTask.status == "pending", CallbackTask.attempts > 0),
            "manual_follow_up": count(CallbackTask, CallbackTask.status == "manual"),
        }


DEMO_USERS = (  # username, role, station, password — demo database only, printed on screen
    ("admin", "admin", None, "Demo-Pass-A2026"),
    ("supervisor", "supervisor", None, "Demo-Pass-S2026"),
    ("legal", "legal", None, "Demo-Pass-L2026"),
    ("chengguan", "station", "城关派出所", "Demo-Pass-C2026"),
)


def create_demo_users(app: App) -> list[tuple[str, str, str]]:
    from callback_service.security.auth import create_user, resolve_station
    with app.sessions() as session, session.begin():
        for username, role, station, password in DEMO_USERS:
            station_id = resolve_station(session, station) if station else None
            create_user(session, username, role, password, "demo", station_id=station_id)
    return [(u, r, p) for u, r, _, p in DEMO_USERS]
