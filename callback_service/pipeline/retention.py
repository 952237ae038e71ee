"""Retention: recordings and transcripts older than ``retention_days`` are deleted, daily.

Files are unlinked before their rows are marked, so a crash in between leaves a row that the next
run marks (unlinking a missing file is fine), never a file the database calls deleted. Tickets,
scores' labels and the audit log are kept; each deletion is logged and audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from callback_service.db.models import Answer, Recording, Score, Transcript
from callback_service.security import audit

log = logging.getLogger(__name__)
ACTOR = "retention"
BATCH = 200


@dataclass
class RetentionReport:
    recordings: int = 0
    transcripts: int = 0
    file_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def _unlink(root: Path, relative: str) -> str | None:
    try:
        path = (root / relative).resolve()
    except (OSError, ValueError, RuntimeError) as exc:   # a NUL byte, a symlink loop
        return f"unusable path: {exc.__class__.__name__}"
    if not path.is_relative_to(root.resolve()):
        return "outside the recordings directory: not touched"
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return f"{exc.__class__.__name__}: {exc.strerror or exc}"
    try:
        path.parent.rmdir()   # the attempt's directory, once empty
    except OSError:
        pass
    return None


def _recording_batch(session: Session, root: Path, cutoff: datetime, now: datetime,
                     report: RetentionReport) -> tuple[int, int]:
    before = report.recordings
    rows = session.scalars(select(Recording).where(
        Recording.created_at < cutoff, Recording.deleted_at.is_(None), Recording.state != "transcribing")
        .order_by(Recording.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    for rec in rows:
        error = _unlink(root, rec.path)
        if error is not None:
            report.file_errors += 1
            rec.last_error = f"retention: {error}"
            log.error("retention: recording %s not deleted: %s", rec.id, error)
            continue
        detail = {"path": rec.path, "created_at": rec.created_at.isoformat(), "reason": "retention"}
        rec.state, rec.deleted_at, rec.lease_until = "deleted", now, None
        audit.record(session, ACTOR, "recording.delete", "recording", rec.id, detail)
        log.info("retention: deleted recording %s (%s)", rec.id, rec.path)
        report.recordings += 1
    return len(rows), report.recordings - before


def _transcript_batch(session: Session, cutoff: datetime, now: datetime, report: RetentionReport) -> int:
    rows = session.scalars(select(Transcript).where(Transcript.created_at < cutoff, Transcript.deleted_at.is_(None))
                           .order_by(Transcript.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    for tr in rows:
        tr.text, tr.segments, tr.deleted_at = "", [], now
        # The scored speech is a copy of the transcript: it goes too; the label and problems stay.
        attempt_id = session.scalar(select(Answer.attempt_id).where(Answer.recording_id == tr.recording_id))
        if attempt_id is not None:
            session.execute(update(Score).where(Score.attempt_id == attempt_id).values(text=""))
        audit.record(session, ACTOR, "transcript.delete", "transcript", tr.id,
                     {"recording_id": tr.recording_id, "created_at": tr.created_at.isoformat(), "reason": "retention"})
        log.info("retention: deleted transcript %s", tr.id)
        report.transcripts += 1
    return len(rows)


def apply_retention(sessions: sessionmaker[Session], recordings_root: Path, retention_days: int,
                    now: datetime) -> RetentionReport:
    cutoff, report = now - timedelta(days=retention_days), RetentionReport()
    while True:
        with sessions() as session, session.begin():
            selected, deleted = _recording_batch(session, recordings_root, cutoff, now, report)
        if selected < BATCH or not deleted:   # a batch of undeletable files must not loop forever
            break
    while True:
        with sessions() as session, session.begin():
            if _transcript_batch(session, cutoff, now, report) < BATCH:
                break
    if report.recordings or report.transcripts or report.file_errors:
        log.warning("retention (%s days): deleted %s recordings and %s transcripts; %s files could not be deleted",
                    retention_days, report.recordings, report.transcripts, report.file_errors)
    return report
