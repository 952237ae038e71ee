"""Minimum exposure: a station account sees its own station only, everywhere; domestic-violence and
minor reports only reach legal, supervisors, admins and the owning station; every reveal is audited.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sec_tally import TALLY
from sqlalchemy import select
from support.web_figures import expected, shown
from support.web_seed import STATIONS, Seeded
from web_helpers import flask_app, logged_in, post

from callback_service.app import App
from callback_service.db.models import AuditEntry, Report

OWN, OTHERS = STATIONS[0], STATIONS[1:]       # st_bg belongs to 北关派出所


def _foreign(app: App, sd: Seeded) -> tuple[list[str], list[int]]:
    """Report numbers and ids of every report outside 北关派出所."""
    bg = sd.stations[OWN]
    with app.sessions() as s:
        rows = s.execute(select(Report.report_no, Report.id).where(Report.station_id != bg)).all()
    return [r[0] for r in rows], [r[1] for r in rows]


def _urls(sd: Seeded, foreign_no: str) -> list[str]:
    nj = sd.stations[OTHERS[0]]
    return ["/", "/?unit=week", f"/?station={nj}", f"/?station={nj}&start=2000-01-01", "/review?reviewed=1&days=all",
            f"/review?reviewed=1&days=all&station={nj}", "/calls?start=2000-01-01", f"/calls?station={nj}",
            "/calls?label=answered&start=2000-01-01", "/tickets", f"/tickets?station={nj}", "/tickets?status=open",
            f"/tickets?start=2000-01-01&station={nj}", "/reports?start=2000-01-01",
            f"/reports?start=2000-01-01&station={nj}", f"/reports?q={foreign_no}", f"/reports?q={foreign_no[:4]}",
            "/reports?q=%25", "/reports?q=_"]


def test_a_station_account_sees_no_other_station_anywhere(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    client = logged_in(flask_app(app), "st_bg")
    numbers, ids = _foreign(app, sd)
    needles = [*numbers, *OTHERS, *(f'/reports/{i}"' for i in ids)]
    leaks = {}
    for url in _urls(sd, numbers[0]):
        r = client.get(url)
        # the page echoes its own query (search box, language links); a leaked row still shows its
        # station and its link
        html = r.get_data(as_text=True).replace(numbers[0], "")
        found = [x for x in needles if x in html]
        if r.status_code != 200 or found:
            leaks[url] = (r.status_code, found)
        TALLY.add("exposure: station account on lists, search, dashboard (incl. ?station= of another)",
                  "own station only")
    assert leaks == {}


def test_a_station_account_gets_404_for_every_foreign_object(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    client = logged_in(flask_app(app), "st_bg")
    _, ids = _foreign(app, sd)
    urls = [f"/reports/{i}" for i in ids]
    urls += [f"/calls/{sd.attempts[k]}" for k in sd.attempts if sd.report_of[k] not in _own_numbers(app, sd)]
    urls += [f"/audio/{r}{q}" for k, r in {**sd.call_recordings, **sd.answer_recordings}.items()
             if sd.report_of[k] not in _own_numbers(app, sd) for q in ("", "?download=1")]
    urls += [f"/tickets/{t}" for k, t in sd.tickets.items() if sd.report_of[k] not in _own_numbers(app, sd)]
    codes = {url: client.get(url, headers={"Range": "bytes=1-"}).status_code for url in urls}
    assert codes and set(codes.values()) == {404}, {u: c for u, c in codes.items() if c != 404}
    TALLY.add("exposure: station account fetching another station's report/call/audio/ticket by id",
              "404 (existence not revealed)", len(codes))


def _own_numbers(app: App, sd: Seeded) -> set[str]:
    with app.sessions() as s:
        return set(s.scalars(select(Report.report_no).where(Report.station_id == sd.stations[OWN])))


def test_station_dashboard_figures_are_its_own_whatever_it_asks(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    fa = flask_app(app)
    fa.config["DASHBOARD_CACHE_SECONDS"] = 0
    client = logged_in(fa, "st_bg")
    own = expected(app, station_id=sd.stations[OWN])
    for station in STATIONS:
        assert shown(client.get(f"/?station={sd.stations[station]}").get_data(as_text=True)) == own
    assert own != expected(app)
    TALLY.add("exposure: station dashboard asking for other stations' figures", "own figures only", len(STATIONS))


def test_station_and_api_accounts_cannot_cross_into_each_others_doors(seeded: tuple[App, Seeded]) -> None:
    app, sd = seeded
    fa = flask_app(app)
    station = logged_in(fa, "st_bg")
    body = json.dumps({"report_no": "X1", "received_at": "2026-11-20 09:00", "station": "北关派出所"})
    assert station.post("/api/reports", data=body, content_type="application/json").status_code == 401
    api = fa.test_client()
    headers = {"Authorization": f"Bearer {sd.api_token}"}
    assert {api.get(u, headers=headers).status_code for u in ("/", "/reports", "/tickets/export.csv")} == {302}
    assert station.get("/tickets/export.csv").status_code == 403
    TALLY.add("exposure: station session on the API, API token on pages, station on CSV export", "refused", 5)


SENSITIVE = ("dv_bg", "minor_nj")
OWNER = {"dv_bg": "st_bg", "minor_nj": "st_nj"}


@pytest.mark.parametrize("clip", SENSITIVE)
def test_sensitive_reports_reach_only_oversight_and_the_owning_station(web: tuple[App, Seeded], clip: str) -> None:
    app, sd = web
    fa = flask_app(app)
    report = sd.reports[sd.report_of[clip]]
    clients: dict[str, FlaskClient] = {u: logged_in(fa, u) for u in ("admin1", "sup1", "legal1", "st_bg", "st_nj")}
    allowed = {"admin1", "sup1", "legal1", OWNER[clip]}
    for user, client in clients.items():
        views = [client.get(f"/reports/{report}").status_code, client.get(f"/calls/{sd.attempts[clip]}").status_code,
                 client.get(f"/audio/{sd.call_recordings[clip]}").status_code,
                 post(client, f"/reports/{report}/reveal/name").status_code]
        assert set(views) == ({200} if user in allowed else {404}), (user, views)
        TALLY.add("exposure: domestic-violence/minor report pages, audio and reveal by role",
                  "allowed" if user in allowed else "404 for the other station", len(views))
    with app.sessions() as s:
        reveals = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "pii.reveal",
                                                           AuditEntry.object_id == str(report))).all()
        plays = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "recording.play",
                                                         AuditEntry.object_id == str(sd.call_recordings[clip]))).all()
    assert sorted(reveals) == sorted(allowed) and sorted(plays) == sorted(allowed)


def test_a_revealed_value_is_shown_once_and_not_cached(web: tuple[App, Seeded]) -> None:
    app, sd = web
    client = logged_in(flask_app(app), "legal1")
    report = sd.reports[sd.report_of["dv_bg"]]
    r = post(client, f"/reports/{report}/reveal/phone", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["value"].startswith("+86")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.get_json()["value"] not in client.get(f"/reports/{report}").get_data(as_text=True)
