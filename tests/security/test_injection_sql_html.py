"""SQL metacharacters in every imported field and search box; HTML and script in names and notes.

SQL: values are bound parameters everywhere, so a payload is stored verbatim (or refused by the
field's own rules) and a search for it matches it literally, never everything; no request errors.
HTML: Jinja autoescaping shows each payload as text on every page that shows it.
"""

from __future__ import annotations

import json
import unicodedata
from urllib.parse import quote

from corpus import HTML, SQL
from markupsafe import escape
from sec_tally import TALLY
from sqlalchemy import func, select, text
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in, post

from callback_service.app import App
from callback_service.db.models import AuditEntry, Report, Reporter, Station, Ticket, User
from callback_service.intake.parsers import FIELDS
from callback_service.intake.service import import_rows
from callback_service.security.audit import verify_chain

FREE_TEXT = ("report_no", "station", "reporter_name", "category")


def _base(n: int) -> dict[str, str]:
    return {"report_no": f"SQL{n:04d}", "received_at": "2026-11-20 09:00", "station": "北关派出所",
            "channel": "walk_in", "reporter_name": "王五", "category": "盗窃", "reporter_phone": "13700137000"}


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _counts(app: App) -> dict[str, int]:
    with app.sessions() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Report, User, AuditEntry, Ticket, Station)}


def test_sql_in_every_imported_field_is_stored_verbatim_or_refused_by_its_rules(web: tuple[App, Seeded]) -> None:
    app, _ = web
    before = _counts(app)
    cases = [(f, p) for f in FIELDS for p in SQL]
    rows = [(n, {**_base(n), f: (_base(n)[f] + p if f == "report_no" else p)}) for n, (f, p) in enumerate(cases, 1)]
    result = import_rows(app.sessions, rows, app.intake_limits)
    assert result.imported + len(result.rejected and {p.line for p in result.rejected}) == len(rows)
    with app.sessions() as s:
        stored = {(r.report_no, r.station.name, r.reporter.name, r.category) for r in s.scalars(select(Report))}
    for n, (field, payload) in enumerate(cases, 1):
        if field in FREE_TEXT:
            want = _nfkc(_base(n)["report_no"] + payload) if field == "report_no" else _nfkc(payload)
            assert any(row[FREE_TEXT.index(field)] == want for row in stored), (field, payload)
        TALLY.add("SQL metacharacters in every imported field",
                  "stored verbatim" if field in FREE_TEXT else "refused or parsed by the field's own rules")
    after = _counts(app)
    assert after["users"] == before["users"] and after["tickets"] == before["tickets"]
    assert after["reports"] == before["reports"] + result.imported
    with app.sessions() as s:
        assert verify_chain(s).ok


def test_sql_in_every_search_box_and_filter_answers_normally(web: tuple[App, Seeded]) -> None:
    app, sd = web
    rows = [(n, {**_base(n), "report_no": p, "category": p}) for n, p in enumerate(SQL, 1)]
    import_rows(app.sessions, rows, app.intake_limits)
    client = logged_in(flask_app(app), "admin1")
    with app.sessions() as s:
        total = s.scalar(select(func.count()).select_from(Report))
    for payload in SQL:
        q = quote(payload, safe="")
        urls = [f"/reports?q={q}", f"/reports?q={q}&state={q}&callback={q}&start={q}&end={q}",
                f"/admin/audit?actor={q}&action={q}&object_id={q}&start={q}&before={q}",
                f"/tickets?status={q}&start={q}",
                f"/calls?label={q}&station={q}&category={q}", f"/?category={q}&station={q}&unit={q}",
                f"/review?flag={q}&days={q}&page={q}", f"/tickets/export.csv?status={q}&station={q}"]
        codes = {u: client.get(u).status_code for u in urls}
        assert set(codes.values()) == {200}, codes
        page = client.get(f"/reports?q={q}&start=2000-01-01").get_data(as_text=True)
        shown = page.count('<tr data-report=')
        assert 1 <= shown < total, (payload, shown)       # the literal match only, never every report
        assert str(escape(_nfkc(payload))) in page           # shown, as Jinja escapes it
        TALLY.add("SQL metacharacters in search boxes and filters (8 pages each)", "200, literal match only", 8)
    with app.sessions() as s:
        assert verify_chain(s).ok and s.execute(text("SELECT 1")).scalar() == 1


def test_sql_in_the_api_body_is_stored_verbatim(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = flask_app(app).test_client()
    body = [{**_base(n), "reporter_name": p} for n, p in enumerate(SQL, 500)]
    r = client.post("/api/reports", data=json.dumps(body), content_type="application/json",
                    headers={"Authorization": f"Bearer {sd.api_token}"})
    assert r.status_code == 200 and r.get_json()["imported"] == len(SQL)
    with app.sessions() as s:
        names = set(s.scalars(select(Reporter.name)))
    assert {_nfkc(p) for p in SQL} <= names
    TALLY.add("SQL metacharacters in the JSON API body", "stored verbatim", len(SQL))


def test_html_in_names_categories_stations_and_notes_is_escaped_on_every_page(web: tuple[App, Seeded]) -> None:
    app, sd = web
    rows = [(n, {**_base(n), "report_no": f"XSS{n:03d}", "reporter_name": p, "category": p, "station": "北关派出所"})
            for n, p in enumerate(HTML, 1)]
    assert import_rows(app.sessions, rows, app.intake_limits).imported == len(HTML)
    legal = logged_in(flask_app(app), "legal1")
    attempt, ticket = sd.attempts["unsat_bg"], sd.tickets["unsat_bg"]
    for payload in HTML:
        post(legal, f"/calls/{attempt}/correct", {"label": "unsatisfied", "note": payload})
        post(legal, f"/tickets/{ticket}/transition", {"to_status": "assigned", "note": payload})
    with app.sessions() as s:
        ids = dict(s.execute(select(Report.report_no, Report.id).where(Report.report_no.like("XSS%"))).tuples().all())
    pages = ["/reports?q=XSS&start=2000-01-01", f"/calls/{attempt}", f"/tickets/{ticket}", "/admin/audit",
             "/?start=2000-01-01"]
    pages += [f"/reports/{i}" for i in ids.values()]
    shown: dict[str, str] = {}
    for url in pages:
        page = shown[url] = legal.get(url).get_data(as_text=True)
        raw = [p for p in HTML if "<" in p and p in page]
        assert raw == [], (url, raw)
    # and they are there, as text: categories in the list, reviewers' notes on the call page
    assert all(str(escape(_nfkc(p))) in shown[pages[0]] for p in HTML)
    assert all(str(escape(p)) in shown[f"/calls/{attempt}"] for p in HTML)
    reveal = post(legal, f"/reports/{ids['XSS001']}/reveal/name").get_data(as_text=True)
    assert HTML[0] not in reveal and str(escape(HTML[0])) in reveal
    TALLY.add("HTML/JS in names, categories, notes: pages checked", "escaped (shown as text)", len(pages) + 1)
    TALLY.add("HTML/JS payloads stored (names, categories, label notes, ticket notes)", "escaped on every page",
              len(HTML) * 4)
