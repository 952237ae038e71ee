"""Pages against a seeded database: figures, masking and audited reveals, review, tickets, admin."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from sqlalchemy import func, select
from support.web_figures import expected, shown
from support.web_seed import PASSWORD, Seeded
from web_helpers import flask_app, logged_in, post

from callback_service.app import App
from callback_service.db.models import AuditEntry, LabelCorrection, Report, Score, Ticket, TicketEvent, User

FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _audit(app: App, action: str) -> list[AuditEntry]:
    with app.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_dashboard_figures_match_the_database(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    fa = flask_app(app)
    fa.config["DASHBOARD_CACHE_SECONDS"] = 0
    sup = logged_in(fa, "sup1")
    assert shown(sup.get("/").get_data(as_text=True)) == expected(app)
    bg = sd.stations["北关派出所"]
    assert shown(sup.get(f"/?station={bg}").get_data(as_text=True)) == expected(app, station_id=bg)
    station_user = logged_in(fa, "st_bg")   # whatever station it asks for, it gets its own
    page = station_user.get(f"/?station={sd.stations['南街派出所']}").get_data(as_text=True)
    assert shown(page) == expected(app, station_id=bg)
    assert int(expected(app)["problems"]) > 0 and expected(app)["rectification_rate"] != "—"


def test_week_trend_and_category_filter_render(seeded: tuple[App, Seeded]) -> None:
    sup = logged_in(flask_app(seeded[0]), "sup1")
    assert 'id="trend-data"' in sup.get("/?unit=week").get_data(as_text=True)
    page = sup.get("/?category=盗窃").get_data(as_text=True)
    with seeded[0].sessions() as s:
        thefts = s.scalar(select(func.count()).select_from(Report).where(Report.category == "盗窃"))
    assert shown(page)["reports"] == str(thefts)


def test_pages_show_masked_numbers_only(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    client = logged_in(flask_app(app), "sup1")
    report_id = sd.reports[sd.report_of["unsat_bg"]]
    for url in ("/reports?start=2000-01-01", f"/reports/{report_id}", f"/calls/{sd.attempts['unsat_bg']}",
                "/review?reviewed=1", "/tickets", "/"):
        html = client.get(url).get_data(as_text=True)
        assert not FULL_PHONE.search(html) and not FULL_ID.search(html), url
    html = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert re.search(r"138\*\*\*\*\d{4}", html) and re.search(r"\d{6}\*{8}\d{3}[\dX]", html)


def test_reveal_shows_the_full_value_and_is_audited(web: tuple[App, Seeded]) -> None:
    app, sd = web
    report_id = sd.reports[sd.report_of["minor_nj"]]
    client = logged_in(flask_app(app), "st_nj")     # the owning station of a minor's report
    r = post(client, f"/reports/{report_id}/reveal/guardian_phone", headers={"Accept": "application/json"})
    with app.sessions() as s:
        report = s.get(Report, report_id)
        assert report is not None and report.guardian_phone is not None
        assert r.get_json() == {"field": "guardian_phone", "value": report.guardian_phone.e164}
        id_number = report.reporter.id_number
    page = post(client, f"/reports/{report_id}/reveal/id_number").get_data(as_text=True)
    assert id_number and id_number in page
    entries = _audit(app, "pii.reveal")
    assert [(e.actor, e.detail["field"]) for e in entries] == [("st_nj", "guardian_phone"), ("st_nj", "id_number")]
    assert post(client, f"/reports/{report_id}/reveal/password_hash").status_code == 403


def test_review_queue_puts_urgent_first_and_hides_reviewed_calls(web: tuple[App, Seeded]) -> None:
    app, sd = web
    from callback_service.db.session import transaction
    with transaction(app.sessions) as s:
        score = s.scalars(select(Score).where(Score.attempt_id == sd.attempts["sat_3"])).one()
        score.urgent, score.problems = True, ["safety"]
    client = logged_in(flask_app(app), "legal1")
    rows = re.findall(r'data-attempt="(\d+)"', client.get("/review").get_data(as_text=True))
    assert rows[0] == str(sd.attempts["sat_3"])
    for key in ("unsat_bg", "conflict", "low_conf", "sat_2"):   # unsatisfied, conflict, low ASR, QC sample
        assert str(sd.attempts[key]) in rows, key
    assert str(sd.attempts["sat_1"]) not in rows
    post(client, f"/calls/{sd.attempts['unsat_bg']}/correct", {"label": "unsatisfied", "problems": ["slow"]})
    rows = re.findall(r'data-attempt="(\d+)"', client.get("/review").get_data(as_text=True))
    assert str(sd.attempts["unsat_bg"]) not in rows
    assert str(sd.attempts["unsat_bg"]) in client.get("/review?reviewed=1").get_data(as_text=True)


def test_label_correction_is_stored_applied_and_audited(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = logged_in(flask_app(app), "legal1")
    attempt = sd.attempts["conflict"]
    r = post(client, f"/calls/{attempt}/correct", {"label": "satisfied", "problems": ["attitude", "safety"],
                                                   "note": "按键有误，语音明确表示满意"})
    assert r.status_code == 302
    with app.sessions() as s:
        score = s.scalars(select(Score).where(Score.attempt_id == attempt)).one()
        corr = s.scalars(select(LabelCorrection).where(LabelCorrection.score_id == score.id)).one()
        legal_id = s.scalars(select(User.id).where(User.username == "legal1")).one()
    assert (score.label, score.problems, score.urgent, score.needs_review) == ("satisfied", ["attitude", "safety"],
                                                                              True, False)
    assert (corr.old_label, corr.new_label, corr.user_id, corr.note) == ("satisfied", "satisfied", legal_id,
                                                                        "按键有误，语音明确表示满意")
    assert _audit(app, "score.correct")[-1].detail["problems"] == ["attitude", "safety"]
    assert post(client, f"/calls/{attempt}/correct", {"label": "delighted"}).status_code == 302
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LabelCorrection)) == 1


def test_reviewer_opens_a_review_ticket_once(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = logged_in(flask_app(app), "legal1")
    url = f"/calls/{sd.attempts['sat_1']}/ticket"
    r = post(client, url, {"note": "请核实回执发放情况"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/tickets/")
    ticket_id = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.sessions() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None and t.reason == "review" and t.source_attempt_id == sd.attempts["sat_1"]
        assert "请核实回执发放情况" in t.summary
        assert s.scalars(select(TicketEvent.actor).where(TicketEvent.ticket_id == ticket_id)).all() == ["legal1"]
    assert "已有未销号" in client.get(post(client, url).headers["Location"]).get_data(as_text=True)


def test_ticket_moves_through_its_states_by_role(web: tuple[App, Seeded]) -> None:
    app, sd = web
    fa = flask_app(app)
    station, sup = logged_in(fa, "st_bg"), logged_in(fa, "sup1")
    ticket = sd.tickets["unsat_bg"]
    url = f"/tickets/{ticket}/transition"
    page = station.get(f"/tickets/{ticket}").get_data(as_text=True)
    assert 'data-to="assigned"' in page and 'data-to="verified"' not in page
    for to in ("assigned", "rectifying"):
        assert post(station, url, {"to_status": to}).status_code == 302
    post(station, url, {"to_status": "resolved"})            # a note is required: refused
    assert _status(app, ticket) == "rectifying"
    post(station, url, {"to_status": "resolved", "note": "已约谈当事民警并电话致歉"})
    assert _status(app, ticket) == "resolved"
    post(station, url, {"to_status": "verified", "note": "自己销号"})   # station may not verify
    assert _status(app, ticket) == "resolved"
    assert 'data-to="verified"' in sup.get(f"/tickets/{ticket}").get_data(as_text=True)
    post(sup, url, {"to_status": "verified", "note": "回访核实群众满意"})
    assert _status(app, ticket) == "verified"
    with app.sessions() as s:
        history = s.execute(select(TicketEvent.actor, TicketEvent.to_status)
                            .where(TicketEvent.ticket_id == ticket).order_by(TicketEvent.id)).all()
    assert [tuple(h) for h in history] == [("system", "open"), ("st_bg", "assigned"), ("st_bg", "rectifying"),
                                           ("st_bg", "resolved"), ("sup1", "verified")]
    refused = _audit(app, "ticket.transition_refused")
    assert [e.actor for e in refused] == ["st_bg", "st_bg"]


def _status(app: App, ticket_id: int) -> str:
    with app.sessions() as s:
        return s.scalars(select(Ticket.status).where(Ticket.id == ticket_id)).one()


def test_report_timeline_explains_the_decision(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    html = logged_in(flask_app(app), "sup1").get(f"/reports/{sd.reports[sd.report_of['unsat_nj']]}").get_data(
        as_text=True)
    assert 'data-reason="due"' in html and "ev-attempt" in html and "ev-score" in html and "ev-ticket" in html


def test_metrics_expose_queue_depths_outcomes_and_sla_breaches(seeded: tuple[App, Seeded]) -> None:
    app, _ = seeded
    body = flask_app(app).test_client().get("/metrics").get_data(as_text=True)
    with app.sessions() as s:
        done = s.scalar(select(func.count()).select_from(Report).where(Report.plan_state == "closed"))
    assert f'callback_reports{{state="closed"}} {float(done)}' in body
    for family in ("callback_tasks{", "callback_attempt_outcomes{disposition=\"no_answer\"}", "callback_tickets{",
                   "callback_tickets_sla_breached", "callback_recordings{"):
        assert family in body, family


def test_admin_manages_users_and_every_change_is_audited(web: tuple[App, Seeded]) -> None:
    app, sd = web
    fa = flask_app(app)
    admin = logged_in(fa, "admin1")
    r = post(admin, "/admin/users", {"username": "duty2", "role": "station", "station": sd.stations["城东派出所"],
                                     "password": "Duty#Station22", "must_change": ""})
    assert r.status_code == 302
    assert post(admin, "/admin/users", {"username": "weak", "role": "legal", "password": "short"}).status_code == 200
    logged_in(fa, "duty2", "Duty#Station22")
    with app.sessions() as s:
        duty = s.scalars(select(User).where(User.username == "duty2")).one()
    post(admin, f"/admin/users/{duty.id}/role", {f"u{duty.id}-role": "supervisor", f"u{duty.id}-station": ""})
    post(admin, f"/admin/users/{duty.id}/active/0")
    r = post(fa.test_client(), "/login", {"username": "duty2", "password": "Duty#Station22"})
    assert r.status_code == 200
    actions = [e.action for e in _audit(app, "user.create") + _audit(app, "user.role") + _audit(app, "user.disable")]
    assert actions.count("user.role") == 1 and actions.count("user.disable") == 1
    assert _audit(app, "user.role")[0].detail["to"] == {"role": "supervisor", "station_id": None}
    token_page = post(admin, f"/admin/users/{_uid(app, 'api1')}/token").get_data(as_text=True)
    assert re.search(r"cbs_[\w-]{20,}", token_page)


def _uid(app: App, username: str) -> int:
    with app.sessions() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def test_import_page_reports_rejected_rows_and_refuses_bad_files(web: tuple[App, Seeded]) -> None:
    app, _ = web
    client = logged_in(flask_app(app), "sup1")
    csv = ("报案编号,报案时间,受理单位,报案方式,报案人,联系电话\n"
           "WEB0001,2026-11-20 09:00,北关派出所,上门,吴某,13700137000\n"
           "WEB0002,not-a-time,北关派出所,上门,郑某,13700137001\n").encode("gbk")
    page = post(client, "/admin/import", {"file": (io.BytesIO(csv), "export.csv")},
                content_type="multipart/form-data").get_data(as_text=True)
    assert "导入 1 条，重复 0 条，拒绝 1 条" in page and "WEB0002" in page
    page = post(client, "/admin/import", {"file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
                content_type="multipart/form-data").get_data(as_text=True)
    assert "不支持的文件类型" in page
    app.settings = replace(app.settings, max_import_bytes=64)
    page = post(client, "/admin/import",
                {"file": (io.BytesIO(csv), "big.csv")}, content_type="multipart/form-data").get_data(as_text=True)
    assert "文件超过" in page


def test_audit_viewer_filters_and_verifies_the_chain(seeded: tuple[App, Seeded]) -> None:
    client = logged_in(flask_app(seeded[0]), "legal1")
    page = client.get("/admin/audit?action=login&verify=1").get_data(as_text=True)
    assert 'id="chain-ok"' in page and "login" in page and "user.create" not in page


def test_survey_preview_plays_prompt_audio(seeded: tuple[App, Seeded]) -> None:
    client = logged_in(flask_app(seeded[0]), "sup1")
    page = client.get("/admin/surveys/first_callback").get_data(as_text=True)
    assert "/admin/prompts/common_intro.wav" in page
    r = client.get("/admin/prompts/common_intro.wav", headers={"Range": "bytes=0-43"})
    assert r.status_code == 206 and r.data.startswith(b"RIFF")


def test_english_is_available(seeded: tuple[App, Seeded]) -> None:
    client = logged_in(flask_app(seeded[0]), "sup1")
    client.get("/lang/en")
    html = client.get("/").get_data(as_text=True)
    assert "Satisfaction rate" in html and 'lang="en"' in html
    client.get("/lang/zh_CN")
    assert "满意率" in client.get("/").get_data(as_text=True)


def test_login_password_is_not_echoed(seeded: tuple[App, Seeded]) -> None:
    client = flask_app(seeded[0]).test_client()
    assert PASSWORD not in post(client, "/login", {"username": "sup1", "password": PASSWORD}).get_data(as_text=True)
