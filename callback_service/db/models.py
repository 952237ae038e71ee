"""SQLAlchemy 2 typed models: the single source of truth.

Every stage claims work by a state column that is indexed together with its due time or lease, so
a claim is one indexed conditional UPDATE. All datetimes are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from callback_service.db.types import UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Phone(Base):
    """One row per distinct E.164 number; per-number caps and do-not-call hang off it."""

    __tablename__ = "phones"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    e164: Mapped[str | None] = mapped_column(String(20), unique=True)
    raw_masked: Mapped[str] = mapped_column(String(40))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(16), default="unknown")  # mobile | landline | unknown
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reporter(Base):
    __tablename__ = "reporters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    id_number: Mapped[str | None] = mapped_column(String(18))        # full value: shown only on audited reveal
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC, for repeat detection
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    id_number_valid: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))     # file | api
    filename: Mapped[str] = mapped_column(String(255), default="")
    imported: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_plan_state", "plan_state", "received_at"),
        Index("ix_reports_station_received", "station_id", "received_at"),
        Index("ix_reports_phone_received", "phone_id", "received_at"),
        Index("ix_reports_reporter_received", "reporter_id", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_no: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime]
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"))
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    guardian_phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    safe_to_call: Mapped[bool | None] = mapped_column(Boolean)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    # new -> planned (tasks exist) -> closed (every round finished)
    plan_state: Mapped[str] = mapped_column(String(16), default="new")
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    station: Mapped[Station] = relationship()
    reporter: Mapped[Reporter] = relationship()
    phone: Mapped[Phone | None] = relationship(foreign_keys=[phone_id])
    guardian_phone: Mapped[Phone | None] = relationship(foreign_keys=[guardian_phone_id])


class CallbackTask(Base):
    """One callback round for one report: round 1, round 2, or a verification callback (round 3)."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        Index("ix_tasks_claim", "status", "call_at"),
        Index("ix_tasks_lease", "status", "lease_until"),
        Index("ix_tasks_phone_status", "phone_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)               # 1, 2, 3 = verification
    # r1:<report> | r2:<report> | v:<ticket>:<n>: makes planning idempotent on both backends
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    # no FK: tickets reference tasks' attempts, and a cycle would complicate migrations on SQLite
    ticket_id: Mapped[int | None] = mapped_column(BigId, index=True)
    # pending -> claimed -> dialing -> pending (retry) | done | unreachable; or manual | skipped | expired
    status: Mapped[str] = mapped_column(String(16), default="pending")
    survey: Mapped[str] = mapped_column(String(64))
    dial_to: Mapped[str | None] = mapped_column(String(16))   # reporter | guardian
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    priority: Mapped[int] = mapped_column(Integer, default=9)
    call_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    reached: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    report: Mapped[Report] = relationship()
    phone: Mapped[Phone | None] = relationship()


class Decision(Base):
    """Why a person was (not) called: every planner decision with its reason codes."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"))
    round: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    call_at: Mapped[datetime | None]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallAttempt(Base):
    """Committed before the dialer is asked to call, so no call can go unrecorded."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        UniqueConstraint("task_id", "attempt_no", name="uq_attempt_task_no"),
        Index("ix_attempts_state_lease", "state", "lease_until"),
        Index("ix_attempts_score_state", "score_state"),
        Index("ix_attempts_phone_started", "phone_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id"))
    dialer: Mapped[str] = mapped_column(String(16))
    survey: Mapped[str] = mapped_column(String(64))
    # created -> dialing -> ended | failed ; reconciler handles dialing past lease
    state: Mapped[str] = mapped_column(String(16), default="created")
    disposition: Mapped[str | None] = mapped_column(String(32), index=True)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    # none (not answered) | waiting (transcripts pending) | pending | done
    score_state: Mapped[str] = mapped_column(String(16), default="none")
    review_flag: Mapped[str | None] = mapped_column(String(32))
    qc_sampled: Mapped[bool] = mapped_column(Boolean, default=False)

    task: Mapped[CallbackTask] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="attempt", order_by="Answer.id")
    recordings: Mapped[list[Recording]] = relationship(back_populates="attempt", order_by="Recording.id")


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id", name="uq_recording_attempt_question"),
        Index("ix_recordings_state_lease", "state", "lease_until"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))     # CALL_RECORDING_NAME for the whole call
    kind: Mapped[str] = mapped_column(String(16))            # answer | call
    path: Mapped[str] = mapped_column(String(255))           # relative to the recordings root
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    sha256: Mapped[str | None] = mapped_column(String(64))
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending -> transcribing -> done | rejected | failed ; call recordings: stored ; deleted
    state: Mapped[str] = mapped_column(String(16), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    next_try_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    attempt: Mapped[CallAttempt] = relationship(back_populates="recordings")


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id", name="uq_answer_attempt_question"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    dtmf: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(String(64))    # dtmf mapped through the survey
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt: Mapped[CallAttempt] = relationship(back_populates="answers")
    recording: Mapped[Recording | None] = relationship()


class Transcript(Base):
    __tablename__ = "transcripts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    segments: Mapped[list[Any]] = mapped_column(default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    language_prob: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    model: Mapped[str] = mapped_column(String(128))
    rtf: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_ticket_state", "ticket_state"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id"), unique=True)
    label: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    method: Mapped[str] = mapped_column(String(16))
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")       # the speech that was scored
    dtmf: Mapped[str | None] = mapped_column(String(16))
    ticket_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt: Mapped[CallAttempt] = relationship()


class LabelCorrection(Base):
    """A reviewer's correction; also training data for train-scorer."""

    __tablename__ = "label_corrections"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("scores.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    old_label: Mapped[str] = mapped_column(String(32))
    new_label: Mapped[str] = mapped_column(String(32))
    problems: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # one open ticket per report and reason; closed (verified) tickets do not block a new one
        Index("uq_ticket_open_report_reason", "report_id", "reason", unique=True,
              sqlite_where=text("status <> 'verified'"), postgresql_where=text("status <> 'verified'")),
        Index("ix_tickets_status_due", "status", "sla_due_at"),
        Index("ix_tickets_station_status", "station_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    reason: Mapped[str] = mapped_column(String(48))
    problems: Mapped[list[Any]] = mapped_column(default=list)
    severity: Mapped[str] = mapped_column(String(16))         # urgent | high | normal
    # open -> assigned -> rectifying -> resolved -> verified (销号); resolved -> reopened -> ...
    status: Mapped[str] = mapped_column(String(16), default="open")
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"))
    sla_due_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    report: Mapped[Report] = relationship()
    station: Mapped[Station] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    station: Mapped[Station | None] = relationship()


class AuditEntry(Base):
    """Append-only, hash-chained. PostgreSQL refuses UPDATE/DELETE by trigger (see migrations)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SchedulerLock(Base):
    """Leader lease for SQLite deployments (PostgreSQL uses an advisory lock instead)."""

    __tablename__ = "scheduler_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    lease_until: Mapped[datetime]
