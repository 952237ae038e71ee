"""One call: recordings with waveforms, transcripts in step with playback, the score, and review."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from callback_service.db.models import (
    Answer,
    CallAttempt,
    CallbackTask,
    LabelCorrection,
    Recording,
    Report,
    Score,
    Ticket,
    TicketEvent,
    Transcript,
    User,
)
from callback_service.security import audit
from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.loader import load_survey
from callback_service.tickets.rules import review_ticket
from callback_service.tickets.service import TicketPolicy, open_ticket
from callback_service.web.access import client_ip, db, ensure_report_visible, me, require, service
from callback_service.web.forms import CorrectionForm, NoteForm

log = logging.getLogger(__name__)
bp = Blueprint("calls", __name__)
SAFE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def ticket_policy() -> TicketPolicy:
    return service().ticket_policy


def load_attempt(attempt_id: int) -> tuple[CallAttempt, Report]:
    attempt = db().get(CallAttempt, attempt_id)
    if attempt is None:
        abort(404)
    report = db().get(Report, db().get(CallbackTask, attempt.task_id).report_id)  # type: ignore[union-attr]
    assert report is not None
    ensure_report_visible(report.station_id, report.tags)
    return attempt, report


def _question_texts(survey_id: str) -> dict[str, str]:
    if not SAFE_NAME.match(survey_id):
        return {}
    path = service().settings.surveys_dir / f"{survey_id}.yaml"
    try:
        survey = load_survey(path, bureau_name=service().settings.bureau_name)
    except (SurveyTemplateError, OSError):
        return {}
    return {q.id: q.text for q in survey.questions}


def _transcripts(recording_ids: list[int]) -> dict[int, Transcript]:
    if not recording_ids:
        return {}
    rows = db().scalars(select(Transcript).where(Transcript.recording_id.in_(recording_ids)))
    return {t.recording_id: t for t in rows}


def _context(attempt: CallAttempt, report: Report) -> dict[str, Any]:
    recordings = list(db().scalars(select(Recording).where(Recording.attempt_id == attempt.id,
                                                           Recording.deleted_at.is_(None)).order_by(Recording.id)))
    answers = list(db().scalars(select(Answer).where(Answer.attempt_id == attempt.id).order_by(Answer.id)))
    score = db().scalar(select(Score).where(Score.attempt_id == attempt.id))
    corrections = []
    if score is not None:
        corrections = list(db().execute(
            select(LabelCorrection, User.username).outerjoin(User, User.id == LabelCorrection.user_id)
            .where(LabelCorrection.score_id == score.id).order_by(LabelCorrection.id)).all())
    tickets = list(db().scalars(select(Ticket).where(Ticket.report_id == report.id).order_by(Ticket.id)))
    form = CorrectionForm(label=score.label if score else None, problems=score.problems if score else [])
    return dict(attempt=attempt, report=report, task=db().get(CallbackTask, attempt.task_id),
                call_recordings=[r for r in recordings if r.kind == "call"],
                answers=answers, recordings={r.id: r for r in recordings},
                transcripts=_transcripts([r.id for r in recordings]), score=score, corrections=corrections,
                tickets=tickets, questions=_question_texts(attempt.survey), form=form, ticket_form=NoteForm())


@bp.route("/calls/<int:attempt_id>")
@require("view")
def show(attempt_id: int) -> str:
    attempt, report = load_attempt(attempt_id)
    html = render_template("call.html", **_context(attempt, report))
    # The page shows what the citizen said (transcripts): personal data, so each view is audited.
    audit.record(db(), me().username, "call.view", "call_attempt", attempt.id, {"report_no": report.report_no},
                 client_ip())
    db().commit()
    return html


@bp.route("/calls/<int:attempt_id>/correct", methods=["POST"])
@require("correct_label")
def correct(attempt_id: int) -> Response | str:
    attempt, report = load_attempt(attempt_id)
    score = db().scalar(select(Score).where(Score.attempt_id == attempt.id))
    if score is None:
        abort(404)
    form = CorrectionForm()
    if not form.validate_on_submit():
        flash(_("提交内容无效。"), "error")
        return redirect(url_for("calls.show", attempt_id=attempt.id))
    problems = sorted(set(form.problems.data or []))
    old = score.label
    db().add(LabelCorrection(score_id=score.id, text=score.text, old_label=old, new_label=form.label.data,
                             problems=problems, note=form.note.data or "", user_id=me().id))
    score.label, score.problems = form.label.data or old, problems
    score.urgent, score.needs_review = "safety" in problems, False
    audit.record(db(), me().username, "score.correct", "score", score.id,
                 {"attempt_id": attempt.id, "report_no": report.report_no, "from": old, "to": score.label,
                  "problems": problems, "note": (form.note.data or "")[:500]}, client_ip())
    db().commit()
    flash(_("审听结论已保存。"), "success")
    return redirect(url_for("calls.show", attempt_id=attempt.id))


@bp.route("/calls/<int:attempt_id>/ticket", methods=["POST"])
@require("open_ticket")
def open_review_ticket(attempt_id: int) -> Response:
    attempt, report = load_attempt(attempt_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    spec = review_ticket()
    note = (form.note.data or "").strip()
    if note:
        spec = type(spec)(spec.reason, spec.severity, spec.problems, f"{spec.summary}：{note}")
    ticket = open_ticket(db(), report, spec, datetime.now(UTC), ticket_policy(), attempt.id)
    if ticket is None:
        flash(_("该报案已有未销号的审听工单。"), "warning")
        return redirect(url_for("calls.show", attempt_id=attempt.id))
    # open_ticket records "system" as the opener; here a person opened it
    for event in db().scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
        event.actor = me().username
    audit.record(db(), me().username, "ticket.open_review", "ticket", ticket.id,
                 {"attempt_id": attempt.id, "report_no": report.report_no}, client_ip())
    db().commit()
    flash(_("已创建工单。"), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))
