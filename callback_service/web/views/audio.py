"""Recordings by id, after the same access check as the call page; Range requests for seeking.

The file path always comes from the database row, never from the request, and must resolve inside
the recordings root. Every play and download is audited (once per playback: the request that starts
at byte 0, not each Range request that follows; a Range request with no audited playback of the
recording by the same user in the last two hours is audited itself).
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, request, send_file
from sqlalchemy import select
from werkzeug.wrappers import Response

from callback_service.db.models import AuditEntry, CallAttempt, CallbackTask, Recording, Report
from callback_service.security import audit
from callback_service.security.recordings import RecordingAccessError, load_key, open_recording
from callback_service.web.access import client_ip, db, ensure_report_visible, me, require, service

log = logging.getLogger(__name__)
bp = Blueprint("audio", __name__)
PLAY_ACTIONS = frozenset({"recording.play", "recording.download"})
PLAYBACK_WINDOW = timedelta(hours=2)
RECENT_ENTRIES = 50


def _report_of(recording: Recording) -> Report:
    attempt = db().get(CallAttempt, recording.attempt_id)
    task = db().get(CallbackTask, attempt.task_id) if attempt else None
    report = db().get(Report, task.report_id) if task else None
    if report is None:
        abort(404)
    return report


def _starts_playback() -> bool:
    rng = request.headers.get("Range", "")
    return not rng or rng.replace(" ", "").startswith("bytes=0-")


def _played_recently(recording_id: int) -> bool:
    """Whether this user's recent audit entries already hold this recording's playback.

    A Range request that does not start at byte 0 continues a playback, unless nothing started one:
    then it is audited too, so skipping the first byte cannot fetch a recording unaudited.
    """
    since = datetime.now(UTC) - PLAYBACK_WINDOW
    recent = db().execute(select(AuditEntry.action, AuditEntry.object_id, AuditEntry.at)
                          .where(AuditEntry.actor == me().username)
                          .order_by(AuditEntry.id.desc()).limit(RECENT_ENTRIES)).all()
    return any(a in PLAY_ACTIONS and oid == str(recording_id) and _aware(at) >= since for a, oid, at in recent)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)   # SQLite returns naive UTC


@bp.route("/audio/<int:recording_id>")
@require("view")
def play(recording_id: int) -> Response:
    recording = db().get(Recording, recording_id)
    if recording is None or recording.deleted_at is not None:
        abort(404)
    report = _report_of(recording)
    ensure_report_visible(report.station_id, report.tags)
    settings = service().settings
    try:
        key = load_key(settings.recording_key_file) if recording.encrypted else None
        f = open_recording(settings.recordings_path, recording.path, recording.encrypted, key)
    except RecordingAccessError as exc:
        log.warning("recording %s not served: %s", recording.id, exc)
        abort(404)
    download = request.args.get("download") == "1"
    if _starts_playback() or download or not _played_recently(recording.id):
        audit.record(db(), me().username, "recording.download" if download else "recording.play", "recording",
                     recording.id, {"report_no": report.report_no, "attempt_id": recording.attempt_id},
                     client_ip())
        db().commit()
    source = f.path if f.path is not None else io.BytesIO(f.data or b"")
    etag = f"rec{recording.id}-{recording.sha256 or int(f.mtime or 0)}"[:64]
    response = send_file(source, mimetype=f.mimetype, as_attachment=download,
                         download_name=f"{report.report_no}-{f.download_name}", conditional=True, etag=etag,
                         last_modified=f.mtime, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
