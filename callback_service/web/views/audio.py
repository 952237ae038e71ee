"""Recordings by id, after the same access check as the call page; Range requests for seeking.

The file path always comes from the database row, never from the request, and must resolve inside
the recordings root. Every play and download is audited (once per playback: the request that starts
at byte 0, not each Range request that follows).
"""

from __future__ import annotations

import io
import logging

from flask import Blueprint, abort, request, send_file
from werkzeug.wrappers import Response

from callback_service.db.models import CallAttempt, CallbackTask, Recording, Report
from callback_service.security import audit
from callback_service.security.recordings import RecordingAccessError, load_key, open_recording
from callback_service.web.access import client_ip, db, ensure_report_visible, me, require, service

log = logging.getLogger(__name__)
bp = Blueprint("audio", __name__)


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
    if _starts_playback() or download:
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
