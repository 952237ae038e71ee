"""The web app in a real headless Chromium: log in, dashboard figures, playback with the transcript
highlight following the audio, a label correction, a ticket through its states, an audited reveal.

The Flask app runs in a thread on 127.0.0.1:<ephemeral> over a seeded SQLite database; the browser is
Debian's /usr/bin/chromium driven by playwright. Screenshots go to test-output/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))
from playwright.sync_api import sync_playwright  # noqa: E402
from support.web_figures import expected  # noqa: E402
from support.web_seed import PASSWORD, Seeded, seed  # noqa: E402
from support.web_server import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

from callback_service.app import App, build_app  # noqa: E402
from callback_service.config import load_settings  # noqa: E402
from callback_service.db.models import AuditEntry, LabelCorrection, Score, Ticket  # noqa: E402
from callback_service.web import create_app  # noqa: E402

REPO = TESTS.parent
SHOTS = REPO / "test-output"
VENDOR = REPO / "callback_service" / "web" / "static" / "vendor"


def _vendor() -> None:
    if not (VENDOR / "wavesurfer.min.js").exists() or not (VENDOR / "echarts.min.js").exists():
        subprocess.run(["bash", str(REPO / "scripts" / "vendor-frontend.sh")], check=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[App, Seeded, str]]:
    _vendor()
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copy(sqlite_template, tmp / "web.db")
    settings = load_settings(env={}, database_url=f"sqlite:///{tmp / 'web.db'}", var_dir=tmp / "var",
                             rules_path=REPO / "callback_rules.yaml", surveys_dir=REPO / "survey_templates",
                             prompts_dir=REPO / "scripts_voice" / "audio", secret_key="browser-test",
                             cookie_secure=False)
    app = build_app(settings)
    data = seed(app)
    flask_app = create_app(app)
    flask_app.config["DASHBOARD_CACHE_SECONDS"] = 0
    with serve(flask_app) as base:
        yield app, data, base
    app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/apt-packages.txt)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_dashboard_figures_in_the_browser_match_the_database(site: tuple[App, Seeded, str], browser: Any) -> None:
    app, _, base = site
    page = _page(browser, base, "sup1")
    page.wait_for_selector("#trend-chart[data-ready='1'] canvas")
    shown = {m: page.locator(f"[data-metric='{m}'] .kpi-value").inner_text().strip()
             for m in expected(app)}
    assert shown == expected(app)
    assert page.locator("#station-table tbody tr").count() == 3
    _shot(page, "dashboard")
    page.click("[data-metric='reports']")       # a figure opens the list behind it
    page.wait_for_url("**/reports?**")
    assert page.locator("#report-table tbody tr[data-report]").count() == int(expected(app)["reports"])
    page.context.close()


def test_flagged_call_plays_and_the_transcript_highlight_follows(site: tuple[App, Seeded, str],
                                                                 browser: Any) -> None:
    app, sd, base = site
    page = _page(browser, base, "legal1")
    page.goto(base + "/review")
    page.click(f"tr[data-attempt='{sd.attempts['unsat_bg']}'] a[href^='/calls/']")
    page.wait_for_url(f"**/calls/{sd.attempts['unsat_bg']}")
    player = page.locator(f".player[data-recording='{sd.answer_recordings['unsat_bg']}']")
    player.locator(".waveform canvas, .waveform div").first.wait_for()
    page.wait_for_function("el => el.dataset.ready === '1'", arg=player.element_handle())
    segments = player.locator("button.segment")
    assert segments.count() >= 2
    player.locator(".play-btn").click()
    handle = player.element_handle()
    page.wait_for_function("el => el.dataset.activeSegment === '0'", arg=handle, timeout=15000)
    page.wait_for_function("el => el.dataset.activeSegment === '1'", arg=handle, timeout=15000)
    assert "active" in (segments.nth(1).get_attribute("class") or "")
    assert "active" not in (segments.nth(0).get_attribute("class") or "")
    _shot(page, "call-playing")
    segments.nth(0).click()                       # clicking a segment seeks back to it
    page.wait_for_function("el => el.dataset.activeSegment === '0'", arg=handle, timeout=15000)
    with app.sessions() as s:
        plays = s.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play",
                                                   AuditEntry.actor == "legal1")).all()
    assert {e.object_id for e in plays} >= {str(sd.answer_recordings["unsat_bg"])}
    page.context.close()


def test_reviewer_corrects_a_label_in_the_browser(site: tuple[App, Seeded, str], browser: Any) -> None:
    app, sd, base = site
    page = _page(browser, base, "legal1")
    attempt = sd.attempts["conflict"]
    page.goto(f"{base}/calls/{attempt}")
    form = page.locator("#correct-form")
    form.locator("select[name=label]").select_option("basically_satisfied")
    form.locator("input[name=problems][value=slow]").check()
    form.locator("textarea[name=note]").fill("按键与语音不一致，复听后认定为基本满意")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash-success")
    assert "复听后认定为基本满意" in page.locator("#score-panel .history").inner_text()
    with app.sessions() as s:
        score = s.scalars(select(Score).where(Score.attempt_id == attempt)).one()
        correction = s.scalars(select(LabelCorrection).where(LabelCorrection.score_id == score.id)).one()
    assert (score.label, score.problems) == ("basically_satisfied", ["slow"])
    assert (correction.old_label, correction.new_label) == ("satisfied", "basically_satisfied")
    _shot(page, "call-corrected")
    page.context.close()


def _move(page: Any, verb: str, note: str = "") -> None:
    form = page.locator("#transition-form")
    if note:
        form.locator("textarea[name=note]").fill(note)
    form.locator(f"button[data-to='{verb}']").click()
    page.wait_for_selector(f"#ticket-status[data-status='{verb}']")


def test_ticket_moves_through_its_states_in_the_browser(site: tuple[App, Seeded, str], browser: Any) -> None:
    app, sd, base = site
    ticket = sd.tickets["unsat_bg"]
    station = _page(browser, base, "st_bg")
    station.goto(f"{base}/tickets/{ticket}")
    _move(station, "assigned")
    _move(station, "rectifying")
    station.locator("button[data-to='resolved']").click()     # the note is required: the browser says so
    assert station.locator("#ticket-status").get_attribute("data-status") == "rectifying"
    _move(station, "resolved", "已约谈接警民警，向报案人当面致歉")
    assert station.locator("button[data-to='verified']").count() == 0
    station.context.close()
    supervisor = _page(browser, base, "sup1")
    supervisor.goto(f"{base}/tickets/{ticket}")
    _move(supervisor, "verified", "回访核实：群众表示满意")
    history = supervisor.locator("#ticket-history li").all_inner_texts()
    assert len(history) == 5 and "st_bg" in history[1] and "sup1" in history[4]
    _shot(supervisor, "ticket-verified")
    with app.sessions() as s:
        assert s.get(Ticket, ticket).status == "verified"  # type: ignore[union-attr]
    supervisor.context.close()


def test_masked_phone_is_revealed_in_place_and_audited(site: tuple[App, Seeded, str], browser: Any) -> None:
    app, sd, base = site
    page = _page(browser, base, "st_bg")
    report_id = sd.reports[sd.report_of["dv_bg"]]
    page.goto(f"{base}/reports/{report_id}")
    value = page.locator(".pii[data-field='phone'] .value")
    assert "****" in value.inner_text()
    page.locator(".pii[data-field='phone'] button").click()
    page.wait_for_function("() => !document.querySelector(\".pii[data-field='phone'] .value\").textContent"
                           ".includes('*')")
    assert value.inner_text().startswith("+86")
    with app.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "pii.reveal")
                          .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.actor == "st_bg" and entry.detail["field"] == "phone"
    _shot(page, "report-timeline")
    page.context.close()
