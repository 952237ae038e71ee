"""Every page route for every role: station scoping, domestic-violence/minor visibility, admin areas."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from support.web_seed import Seeded
from web_helpers import flask_app, logged_in, login, post

from callback_service.app import App

USERS = ("admin1", "sup1", "legal1", "st_bg", "st_nj")
OVERSIGHT = ("admin1", "sup1", "legal1")
Expect = dict[str | None, int]


def everyone(code: int = 200) -> Expect:
    return {**{u: code for u in USERS}, None: 302}


def only(*allowed: str) -> Expect:
    return {**{u: (200 if u in allowed else 403) for u in USERS}, None: 302}


def scoped(owner: str) -> Expect:
    """Oversight roles and the owning station see it; the other station gets 404 (not even 403)."""
    return {**{u: 200 for u in OVERSIGHT}, owner: 200, ("st_nj" if owner == "st_bg" else "st_bg"): 404, None: 302}


def routes(sd: Seeded) -> list[tuple[str, Expect]]:
    bg, nj, dv, minor = "unsat_bg", "unsat_nj", "dv_bg", "minor_nj"   # 北关, 南街, 北关 DV, 南街 minor
    owner = {bg: "st_bg", nj: "st_nj", dv: "st_bg", minor: "st_nj"}
    out: list[tuple[str, Expect]] = [(u, everyone()) for u in (
        "/", "/?unit=week", "/review", "/review?reviewed=1&flag=unsatisfied", "/calls", "/calls?label=positive",
        "/tickets", "/tickets?status=open", "/tickets?overdue=1", "/reports", "/reports?q=JJ", "/account/password")]
    for clip, who in owner.items():
        report_id = sd.reports[sd.report_of[clip]]
        out += [(f"/calls/{sd.attempts[clip]}", scoped(who)), (f"/audio/{sd.call_recordings[clip]}", scoped(who)),
                (f"/audio/{sd.answer_recordings[clip]}", scoped(who)), (f"/tickets/{sd.tickets[clip]}", scoped(who)),
                (f"/reports/{report_id}", scoped(who))]
    out += [("/admin/users", only("admin1")), ("/admin/import", only("admin1", "sup1")),
            ("/admin/audit", only("admin1", "legal1")), ("/account/totp", only("admin1", "legal1"))]
    out += [(u, only(*OVERSIGHT)) for u in ("/admin/rules", "/admin/surveys", "/admin/surveys/first_callback",
                                            "/admin/prompts/common_intro.wav")]
    return out


@pytest.fixture(scope="module")
def clients(seeded: tuple[App, Seeded]) -> dict[str | None, FlaskClient]:
    fa = flask_app(seeded[0])
    out: dict[str | None, FlaskClient] = {u: logged_in(fa, u) for u in USERS}
    out[None] = fa.test_client()
    return out


def test_every_route_answers_every_role_as_the_matrix_says(seeded: tuple[App, Seeded],
                                                           clients: dict[str | None, FlaskClient]) -> None:
    failures = []
    for url, expect in routes(seeded[1]):
        for user, code in expect.items():
            got = clients[user].get(url).status_code
            if got != code:
                failures.append(f"{user or 'anonymous'} GET {url}: {got}, expected {code}")
    assert failures == []


def test_anonymous_is_sent_to_login_with_the_page_to_return_to(clients: dict[str | None, FlaskClient]) -> None:
    r = clients[None].get("/tickets?status=open")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


def test_health_and_metrics_need_no_login(clients: dict[str | None, FlaskClient]) -> None:
    assert clients[None].get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert clients[None].get("/metrics").status_code == 200


def test_api_account_cannot_log_into_pages(seeded: tuple[App, Seeded]) -> None:
    client = flask_app(seeded[0]).test_client()
    r = login(client, "api1")
    assert r.status_code == 200 and "用户名或密码错误" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def _lists(client: FlaskClient, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def _table(html: str) -> str:
    start = html.index("<table")
    return html[start:html.index("</table>", start)]


def test_station_lists_show_only_their_own_station(seeded: tuple[App, Seeded],
                                                   clients: dict[str | None, FlaskClient]) -> None:
    sd = seeded[1]
    mine = {no for clip, no in sd.report_of.items() if clip in ("unsat_bg", "dv_bg", "sat_1")}
    theirs = {sd.report_of[c] for c in ("unsat_nj", "minor_nj", "sat_2")}
    for url in ("/reports", "/review?reviewed=1", "/calls", "/tickets"):
        page = _lists(clients["st_bg"], url + ("&" if "?" in url else "?") + "start=2000-01-01")
        assert not [no for no in theirs if no in page], url
    page = _lists(clients["st_bg"], "/reports?start=2000-01-01")
    assert all(no in page for no in mine)
    # asking for another station's figures still shows one's own
    other = _lists(clients["st_bg"], f"/reports?station={sd.stations['南街派出所']}&start=2000-01-01")
    assert _table(other) == _table(page)


@pytest.mark.parametrize("user,capability_url,data", [
    ("st_bg", "/calls/{bg}/correct", {"label": "satisfied"}),
    ("st_bg", "/calls/{bg}/ticket", {"note": "x"}),
    ("sup1", "/admin/users", {"username": "x1", "role": "legal", "password": "Aa1!aaaaaaaa"}),
    ("legal1", "/admin/users/1/active/0", {}),
])
def test_posts_beyond_a_role_are_forbidden(seeded: tuple[App, Seeded], clients: dict[str | None, FlaskClient],
                                           user: str, capability_url: str, data: dict[str, str]) -> None:
    url = capability_url.format(bg=seeded[1].attempts["unsat_bg"])
    assert post(clients[user], url, data).status_code == 403


def test_other_stations_objects_cannot_be_changed_or_revealed(seeded: tuple[App, Seeded],
                                                              clients: dict[str | None, FlaskClient]) -> None:
    sd = seeded[1]
    report = sd.reports[sd.report_of["unsat_bg"]]
    ticket = sd.tickets["unsat_bg"]
    nj: Callable[..., object] = clients["st_nj"].get
    assert nj(f"/reports/{report}").status_code == 404  # type: ignore[attr-defined]
    assert post(clients["st_nj"], f"/reports/{report}/reveal/phone").status_code == 404
    assert post(clients["st_nj"], f"/tickets/{ticket}/transition", {"to_status": "assigned"}).status_code == 404
