"""Queries that find each stage's work: ids only, in the order the stage should take them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callback_service.db.models import CallAttempt, Recording, Score


def attempts_to_dial(session: Session, limit: int = 100) -> list[int]:
    return list(session.scalars(select(CallAttempt.id).where(CallAttempt.state == "created")
                                .order_by(CallAttempt.id).limit(limit)))


def recordings_to_transcribe(session: Session, now: datetime, limit: int = 100) -> list[int]:
    return list(session.scalars(select(Recording.id).where(
        Recording.state == "pending", Recording.kind == "answer",
        (Recording.next_try_at.is_(None)) | (Recording.next_try_at <= now)).order_by(Recording.id).limit(limit)))


def attempts_to_score(session: Session, limit: int = 100) -> list[int]:
    return list(session.scalars(select(CallAttempt.id).where(CallAttempt.score_state == "pending")
                                .order_by(CallAttempt.id).limit(limit)))


def scores_to_ticket(session: Session, limit: int = 100) -> list[int]:
    return list(session.scalars(select(Score.id).where(Score.ticket_state == "pending")
                                .order_by(Score.id).limit(limit)))
