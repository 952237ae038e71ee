"""CSV export: formula injection neutralised in every cell, oversight roles only, audited."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

from corpus import FORMULA
from hypothesis import given, settings
from hypothesis import strategies as st
from sec_tally import TALLY
from sqlalchemy import select
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in

from callback_service.app import App
from callback_service.db.models import AuditEntry, Report
from callback_service.db.session import transaction
from callback_service.intake.service import import_rows
from callback_service.security.csvsafe import BOM, FORMULA_STARTS, neutralise
from callback_service.tickets.rules import review_ticket
from callback_service.tickets.service import open_ticket

SPREADSHEET_STARTS = FORMULA_STARTS | {" ", "\u3000"}


def _dangerous(cell: str) -> bool:
    """Whether a spreadsheet could read the cell as a formula (leading blanks are skipped by some)."""
    stripped = cell.lstrip(" \u3000")
    return bool(cell) and (cell[0] in FORMULA_STARTS or bool(stripped and stripped[0] in FORMULA_STARTS))


def test_every_formula_payload_is_prefixed_and_readable() -> None:
    for payload in FORMULA:
        cell = neutralise(payload)
        assert cell == "'" + payload and not _dangerous(cell)
        TALLY.add("CSV formula injection: corpus through neutralise()", "prefixed with an apostrophe")
    assert neutralise("盗窃") == "盗窃" and neutralise(42) == "42" and neutralise(None) == ""


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=20), st.tuples(st.sampled_from(sorted(SPREADSHEET_STARTS)), st.text(max_size=10))
                 .map("".join)))
def test_no_cell_can_start_a_formula(value: str) -> None:
    cell = neutralise(value)
    assert not _dangerous(cell) and cell in (value, "'" + value)
    TALLY.add("CSV formula injection: any text through neutralise() (hypothesis)",
              "prefixed" if cell != value else "unchanged (harmless)")


def _importable(payload: str) -> str:
    return "" if any(ch in payload for ch in "\t\r") else payload    # intake refuses control characters


def _tickets_for_payloads(app: App) -> None:
    """A report per payload (in its number, station and category) with a ticket whose summary is it."""
    rows = [(n, {"report_no": f"F{n:03d}{_importable(p)}", "received_at": "2026-11-20 09:00",
                 "station": f"北关派出所{_importable(p)}", "channel": "walk_in", "category": _importable(p) or "盗窃",
                 "reporter_phone": "13700137000"}) for n, p in enumerate(FORMULA, 1)]
    result = import_rows(app.sessions, rows, app.intake_limits)
    assert result.imported == len(FORMULA), result.rejected
    spec = review_ticket()
    with transaction(app.sessions) as s:
        for report in s.scalars(select(Report).where(Report.report_no.like("F%"))):
            i = int(report.report_no[1:4]) - 1
            open_ticket(s, report, replace(spec, summary=FORMULA[i]), datetime.now(UTC), app.ticket_policy)


def test_the_ticket_export_has_no_live_formula_and_is_audited(web: tuple[App, Seeded]) -> None:
    app, _ = web
    _tickets_for_payloads(app)
    fa = flask_app(app)
    r = logged_in(fa, "sup1").get("/tickets/export.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["Cache-Control"] == "private, no-store"
    body = r.get_data(as_text=True)
    assert body.startswith(BOM)
    rows = list(csv.reader(io.StringIO(body[len(BOM):])))
    cells = [c for row in rows for c in row]
    assert [c for c in cells if _dangerous(c)] == []
    for payload in FORMULA:
        text = unicodedata.normalize("NFKC", _importable(payload)).strip()   # as intake stored it
        assert not text or any(c in ("'" + text, text) for c in cells), payload
        assert "'" + payload in cells   # the ticket summary, exactly as written, apostrophe in front
    TALLY.add("CSV formula injection: report no, station, category, ticket summary in the export",
              "every cell neutralised", len(FORMULA) * 4)
    with app.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export.tickets")).one()
    assert entry.actor == "sup1" and entry.detail["rows"] == len(rows) - 1
    codes = {u: logged_in(fa, u).get("/tickets/export.csv").status_code for u in ("admin1", "legal1", "st_bg")}
    assert codes == {"admin1": 200, "legal1": 200, "st_bg": 403}
