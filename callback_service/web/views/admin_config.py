"""Read-only views of configuration: callback rules and calling windows, survey templates, prompt audio."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, render_template, send_file
from werkzeug.wrappers import Response

from callback_service.surveys.errors import SurveyTemplateError
from callback_service.surveys.loader import load_survey, survey_prompts, template_paths
from callback_service.surveys.model import Survey
from callback_service.web.access import require, service

bp = Blueprint("admin_config", __name__, url_prefix="/admin")
SAFE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_RULES_BYTES = 512 * 1024


@bp.route("/rules")
@require("config_view")
def rules() -> str:
    path = service().settings.rules_path
    try:
        text = path.read_bytes()[:MAX_RULES_BYTES].decode("utf-8", errors="replace")
        error = None
    except OSError as exc:
        text, error = "", f"{path.name}: {exc.strerror}"
    return render_template("admin/rules.html", text=text, error=error, name=path.name)


def _surveys() -> list[tuple[str, Survey | None, str | None]]:
    out: list[tuple[str, Survey | None, str | None]] = []
    bureau = service().settings.bureau_name
    for path in template_paths(service().settings.surveys_dir):
        try:
            out.append((path.stem, load_survey(path, bureau_name=bureau), None))
        except SurveyTemplateError as exc:
            out.append((path.stem, None, str(exc)))
    return out


@bp.route("/surveys")
@require("config_view")
def surveys() -> str:
    return render_template("admin/surveys.html", surveys=_surveys())


@bp.route("/surveys/<name>")
@require("config_view")
def survey(name: str) -> str:
    if not SAFE_NAME.match(name):
        abort(404)
    path = service().settings.surveys_dir / f"{name}.yaml"
    if not path.is_file():
        abort(404)
    try:
        s = load_survey(path, bureau_name=service().settings.bureau_name)
    except SurveyTemplateError as exc:
        return render_template("admin/survey.html", name=name, survey=None, error=str(exc), prompts=[])
    prompts = [(field, q, _prompt_file(q.prompt) is not None) for field, q in survey_prompts(s)]
    return render_template("admin/survey.html", name=name, survey=s, error=None, prompts=prompts)


def _prompt_file(name: str) -> Path | None:
    """A prompt's audio by safe name only, inside prompts_dir."""
    if not SAFE_NAME.match(name):
        return None
    root = service().settings.prompts_dir.resolve()
    path = (root / f"{name}.wav").resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


@bp.route("/prompts/<name>.wav")
@require("config_view")
def prompt_audio(name: str) -> Response:
    path = _prompt_file(name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
