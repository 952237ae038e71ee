"""Report import by upload (admin, supervisor) and the audit log viewer (admin, legal)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from callback_service.db.models import AuditEntry
from callback_service.intake.parsers import FileFormatError, Row, read_csv, read_json, read_xlsx
from callback_service.intake.service import import_rows
from callback_service.security.audit import verify_chain
from callback_service.web.access import db, me, require, service
from callback_service.web.forms import ImportForm

bp = Blueprint("admin_data", __name__, url_prefix="/admin")
READERS = {".csv": read_csv, ".txt": read_csv, ".xlsx": read_xlsx, ".json": read_json}
AUDIT_PAGE = 100


def _read_upload(upload: FileStorage, limit: int) -> tuple[str, list[Row]]:
    name = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:200]
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in READERS:
        raise FileFormatError(_("%(n)s：不支持的文件类型（请上传 CSV、XLSX 或 JSON）", n=name))
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise FileFormatError(_("%(n)s：文件超过 %(m)s MB", n=name, m=limit // (1024 * 1024)))
    if suffix == ".xlsx" and not data.startswith(b"PK\x03\x04"):
        raise FileFormatError(_("%(n)s：不是有效的 XLSX 文件", n=name))
    return name, list(READERS[suffix](data, name))


@bp.route("/import", methods=["GET", "POST"])
@require("import")
def import_page() -> str:
    form = ImportForm()
    result: dict[str, Any] | None = None
    if form.validate_on_submit():
        app = service()
        try:
            name, rows = _read_upload(form.file.data, app.settings.max_import_bytes)
            username = me().username
            db().rollback()   # SQLite: release this request's lock before the import's own transaction
            outcome = import_rows(app.sessions, rows, app.intake_limits, strict=bool(form.strict.data),
                                  source="web", filename=name, actor=username)
        except FileFormatError as exc:
            flash(str(exc), "error")
        else:
            result = outcome.as_dict() | {"committed": outcome.committed, "filename": name}
    elif request.method == "POST":
        flash(_("请选择要上传的文件。"), "error")
    return render_template("admin/import.html", form=form, result=result)


def _audit_query() -> Any:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    args = request.args
    if args.get("actor"):
        stmt = stmt.where(AuditEntry.actor == args["actor"][:64])
    if args.get("action"):
        stmt = stmt.where(AuditEntry.action.like(args["action"][:64].replace("%", "") + "%"))
    if args.get("object_id"):
        stmt = stmt.where(AuditEntry.object_id == args["object_id"][:64])
    tz = service().settings.tz
    for key, op in (("start", "ge"), ("end", "lt")):
        try:
            day = datetime.fromisoformat(args.get(key, ""))
        except ValueError:
            continue
        bound = datetime.combine(day.date() + timedelta(days=1 if key == "end" else 0), time.min, tz)
        stmt = stmt.where(AuditEntry.at >= bound if op == "ge" else AuditEntry.at < bound)
    if args.get("before", "").isdigit():
        stmt = stmt.where(AuditEntry.id < int(args["before"]))
    return stmt.limit(AUDIT_PAGE)


@bp.route("/audit")
@require("audit_view")
def audit_log() -> str:
    entries = list(db().scalars(_audit_query()))
    chain = verify_chain(db()) if request.args.get("verify") == "1" else None
    return render_template("admin/audit.html", entries=entries, chain=chain,
                           next_before=entries[-1].id if len(entries) == AUDIT_PAGE else None)
