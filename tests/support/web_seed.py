"""Realistic data for the web tests: stations, users, reports through the real import service,
planner decisions, callback tasks, attempts, answers with real recordings (tests/fixtures/answers),
transcripts with timed segments, scores and tickets moved through the real ticket service.

Transcript text and labels are the ground truth from the fixtures' manifest; the web tests are about
showing and correcting them, not about speech recognition.
"""

from __future__ import annotations

import random
import re
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from callback_service.app import App
from callback_service.db.models import (
    Answer,
    CallAttempt,
    CallbackTask,
    Decision,
    Recording,
    Report,
    Score,
    Transcript,
)
from callback_service.db.session import transaction
from callback_service.intake.service import import_rows
from callback_service.security.auth import create_user, issue_api_token
from callback_service.tickets import states
from callback_service.tickets.rules import ScoreFacts, SlaPolicy, tickets_for_score
from callback_service.tickets.service import TicketPolicy, open_ticket, transition

ANSWERS = Path(__file__).resolve().parent.parent / "fixtures" / "answers"
PASSWORD = "Callback#2026pw"
STATIONS = ("北关派出所", "南街派出所", "城东派出所")
CATEGORIES = ("盗窃", "诈骗", "纠纷", "交通事故", "噪音扰民")
USERS = {"admin1": ("admin", None), "sup1": ("supervisor", None), "legal1": ("legal", None),
         "st_bg": ("station", "北关派出所"), "st_nj": ("station", "南街派出所"), "api1": ("api", None)}
# Semantic calls the tests refer to: (key, label wanted, station index, tags). Clips are picked from
# the fixtures' manifest by label, so regenerating the fixture audio does not break the tests.
CALLS = [
    ("sat_1", "satisfied", 0, ""), ("sat_2", "satisfied", 1, ""), ("sat_3", "satisfied", 2, ""),
    ("sat_4", "satisfied", 0, ""), ("conflict", "satisfied", 1, ""),
    ("basic_1", "basically_satisfied", 0, ""), ("basic_2", "basically_satisfied", 2, ""),
    ("low_conf", "basically_satisfied", 1, ""),
    ("unsat_bg", "unsatisfied", 0, ""), ("unsat_nj", "unsatisfied", 1, ""), ("unsat_cd", "unsatisfied", 2, ""),
    ("dv_bg", "unsatisfied", 0, "domestic_violence"), ("minor_nj", "unsatisfied", 1, "minor"),
    ("unknown", "unknown", 2, ""),
]
LEAD_IN_S = 2.0
DTMF_LABEL = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
UNREACHED = 6   # extra reports whose round ended unreached
NEW = 4         # extra reports not planned yet


@dataclass
class Seeded:
    stations: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)          # username -> role
    api_token: str = ""
    attempts: dict[str, int] = field(default_factory=dict)       # call key (see CALLS) -> attempt id
    call_recordings: dict[str, int] = field(default_factory=dict)
    answer_recordings: dict[str, int] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)        # report_no -> id
    report_of: dict[str, str] = field(default_factory=dict)      # call key -> report_no
    clips: dict[str, str] = field(default_factory=dict)          # call key -> fixture file
    tickets: dict[str, int] = field(default_factory=dict)        # call key -> first ticket id


def _clips() -> dict[str, dict[str, Any]]:
    """key -> manifest clip, the first unused spoken clip with the wanted label whose file exists."""
    data = yaml.safe_load((ANSWERS / "manifest.yaml").read_text(encoding="utf-8"))
    spoken = [c for c in data["clips"] if c.get("text") and (ANSWERS / c["file"]).is_file()]
    used: set[str] = set()
    out: dict[str, dict[str, Any]] = {}
    for key, label, _, _ in CALLS:
        pool = [c for c in spoken if c["label"] == label]
        if key == "conflict":   # pressed one key, said another verdict
            pool = [c for c in pool if DTMF_LABEL.get(str(c.get("dtmf"))) not in (None, label)] or pool
        elif label == "unsatisfied":
            pool = [c for c in pool if c.get("dtmf")] or pool
        elif key == "basic_1":   # a problem worth a ticket
            pool = [c for c in pool if c.get("problems")] or pool
        if not pool:
            raise RuntimeError(f"no fixture clip labelled {label} in {ANSWERS}")
        fresh = [c for c in pool if c["file"] not in used] or pool
        out[key] = fresh[0]
        used.add(fresh[0]["file"])
    return out


def _id_number(rng: random.Random) -> str:
    body = f"140502{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def _rows(now_local: datetime, rng: random.Random) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    total = len(CALLS) + UNREACHED + NEW
    for i in range(total):
        station = CALLS[i][2] if i < len(CALLS) else i % len(STATIONS)
        tags = CALLS[i][3] if i < len(CALLS) else ""
        day = (now_local - timedelta(days=1 + (i * 13) % 18)).replace(hour=8, minute=0, second=0, microsecond=0)
        received = day + timedelta(minutes=rng.randint(0, 9 * 60))
        row = {"report_no": f"JJ{received:%Y%m%d}{i + 1:04d}", "received_at": f"{received:%Y-%m-%d %H:%M:%S}",
               "station": STATIONS[station], "channel": ("walk_in", "phone", "kiosk")[i % 3],
               "reporter_name": "张李王赵刘陈"[i % 6] + "某某", "reporter_phone": f"138{rng.randint(10**7, 10**8 - 1)}",
               "reporter_id_number": _id_number(rng), "category": "家庭暴力" if tags == "domestic_violence"
               else CATEGORIES[i % 5], "tags": tags, "safe_to_call": "true" if tags else ""}
        if tags == "minor":
            row["guardian_phone"] = f"139{rng.randint(10**7, 10**8 - 1)}"
        rows.append((i + 2, row))
    return rows


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _concat(out: Path, parts: list[Path], lead_in_s: float = 0.0) -> float:
    """The parts one after the other, after some silence (the prompt before the answer)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    frames, params = [], None
    for p in parts:
        with wave.open(str(p)) as w:
            params = params or w.getparams()
            frames.append(w.readframes(w.getnframes()))
    assert params is not None
    frames.insert(0, b"\x00" * (int(lead_in_s * params.framerate) * params.sampwidth * params.nchannels))
    with wave.open(str(out), "wb") as w:
        assert params is not None
        w.setparams(params)
        for f in frames:
            w.writeframes(f)
    return _duration(out)


def segments_for(text: str, start: float, end: float) -> list[dict[str, Any]]:
    """Split at Chinese punctuation; spread the pieces over [start, end] by character count."""
    pieces = [p for p in re.split(r"(?<=[，。？！,?!])", text) if p.strip()] or [text]
    total = sum(len(p) for p in pieces) or 1
    out, t = [], start
    for p in pieces:
        span = (end - start) * len(p) / total
        out.append({"start": round(t, 2), "end": round(t + span, 2), "text": p, "confidence": 0.9})
        t += span
    return out


def callback_time(report: Report, tz: Any, n: int, now: datetime) -> datetime:
    """10:00 local the day after the report, a few minutes apart; never in the future."""
    local = report.received_at.astimezone(tz)
    planned = (local + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return min(planned + timedelta(minutes=7 * n), now - timedelta(minutes=40 - n))


def _task(session: Session, report: Report, status: str, reached: bool, now: datetime) -> CallbackTask:
    due = report.received_at + timedelta(days=1)
    decided = report.received_at + timedelta(minutes=5)
    report.created_at = report.received_at + timedelta(minutes=1)
    task = CallbackTask(report_id=report.id, round=1, dedupe_key=f"r1:{report.id}", status=status,
                        survey="first_callback", dial_to="reporter", phone_id=report.phone_id, priority=5,
                        call_at=due, due_at=due, expires_at=due + timedelta(days=7), reached=reached,
                        reasons=["due"], attempts=1 if status != "pending" else 0,
                        ended_at=None, created_at=decided)
    session.add(task)
    session.flush()
    session.add(Decision(report_id=report.id, task_id=task.id, round=1, action="call", reasons=["due"],
                         call_at=due, decided_at=decided))
    report.plan_state = "closed" if status in ("done", "unreachable") else "planned"
    return task


def _answered_call(session: Session, app: App, report: Report, key: str, clip: dict[str, Any], now: datetime,
                   seeded: Seeded) -> CallAttempt:
    task = _task(session, report, "done", True, now)
    started = callback_time(report, app.settings.tz, 0, now)
    task.ended_at = started + timedelta(seconds=90)
    attempt = CallAttempt(task_id=task.id, attempt_no=1, phone_id=report.phone_id, dialer="simulated",
                          survey="first_callback", state="ended", disposition="answered_complete",
                          hangup_cause="NORMAL_CLEARING", started_at=started,
                          answered_at=started + timedelta(seconds=5), ended_at=started + timedelta(seconds=90),
                          lease_until=None,
                          score_state="done", qc_sampled=key == "sat_2")
    session.add(attempt)
    session.flush()
    root, src = app.settings.recordings_path, ANSWERS / clip["file"]
    offset = LEAD_IN_S
    call_dur = _concat(root / str(attempt.id) / "call.wav", [src], lead_in_s=offset)
    answer_dur = _concat(root / str(attempt.id) / "comment.wav", [src])
    ended = started + timedelta(seconds=90)
    call_rec = Recording(attempt_id=attempt.id, question_id="call.wav", kind="call", created_at=ended,
                         path=f"{attempt.id}/call.wav", duration_s=call_dur, state="stored")
    ans_rec = Recording(attempt_id=attempt.id, question_id="comment", kind="answer", created_at=ended,
                        path=f"{attempt.id}/comment.wav", duration_s=answer_dur, state="done")
    session.add_all([call_rec, ans_rec])
    session.flush()
    low_conf = key == "low_conf"
    for rec, start, end in ((call_rec, offset + 0.2, call_dur - 0.2), (ans_rec, 0.2, answer_dur - 0.2)):
        session.add(Transcript(recording_id=rec.id, text=clip["text"], segments=segments_for(clip["text"], start, end),
                               confidence=0.42 if low_conf else 0.88, needs_review=low_conf, model="fixture-truth",
                               duration_s=rec.duration_s, created_at=ended + timedelta(minutes=1)))
    dtmf = clip.get("dtmf")
    dtmf_label = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}.get(dtmf or "")
    session.add(Answer(attempt_id=attempt.id, question_id="satisfaction", dtmf=dtmf, value=dtmf_label,
                       created_at=started + timedelta(seconds=40)))
    session.add(Answer(attempt_id=attempt.id, question_id="comment", recording_id=ans_rec.id,
                       created_at=started + timedelta(seconds=80)))
    problems = list(clip.get("problems") or [])
    session.add(Score(attempt_id=attempt.id, label=clip["label"], score={"satisfied": 90, "basically_satisfied": 70,
                      "unsatisfied": 20}.get(clip["label"], 50), confidence=0.8, problems=problems,
                      urgent="safety" in problems, reasons=[f"fixture:{clip['file']}"], method="lexicon",
                      conflict=bool(dtmf_label and dtmf_label != clip["label"]), needs_review=low_conf,
                      text=clip["text"], dtmf=dtmf, ticket_state="done", created_at=ended + timedelta(minutes=2)))
    seeded.attempts[key], seeded.call_recordings[key] = attempt.id, call_rec.id
    seeded.answer_recordings[key] = ans_rec.id
    seeded.report_of[key], seeded.clips[key] = report.report_no, clip["file"]
    return attempt


def _unreached(session: Session, report: Report, tz: Any, now: datetime) -> None:
    task = _task(session, report, "unreachable", False, now)
    task.attempts = 3
    for n, disp in enumerate(("no_answer", "busy", "no_answer"), start=1):
        started = callback_time(report, tz, n * 20, now)
        task.ended_at = started + timedelta(seconds=30)
        session.add(CallAttempt(task_id=task.id, attempt_no=n, phone_id=report.phone_id, dialer="simulated",
                                survey="first_callback", state="ended", disposition=disp, started_at=started,
                                ended_at=started + timedelta(seconds=30)))


def _tickets(session: Session, report: Report, key: str, clip: dict[str, Any], attempt: CallAttempt,
             seeded: Seeded) -> None:
    policy = TicketPolicy(sla=SlaPolicy())
    facts = ScoreFacts(label=clip["label"], problems=tuple(clip.get("problems") or ()),
                       urgent="safety" in (clip.get("problems") or ()))
    assert attempt.ended_at is not None
    opened = attempt.ended_at + timedelta(minutes=3)
    for spec in tickets_for_score(facts):
        ticket = open_ticket(session, report, spec, opened, policy, attempt.id)
        if ticket is not None:
            seeded.tickets.setdefault(key, ticket.id)


def seed(app: App, now: datetime | None = None, rng_seed: int = 7) -> Seeded:
    now = now or datetime.now(UTC)
    rng, clips, seeded = random.Random(rng_seed), _clips(), Seeded()
    rows = _rows(now.astimezone(app.settings.tz), rng)
    result = import_rows(app.sessions, rows, app.intake_limits, source="file", filename="seed.csv", actor="seed")
    assert result.ok and result.imported == len(rows), result.as_dict()
    with transaction(app.sessions) as session:
        reports = {r.report_no: r for r in session.query(Report).order_by(Report.id)}
        ordered = [reports[row["report_no"]] for _, row in rows]
        seeded.reports = {r.report_no: r.id for r in ordered}
        seeded.stations = {r.station.name: r.station_id for r in ordered}
        for i, (key, _label, _station, _tags) in enumerate(CALLS):
            attempt = _answered_call(session, app, ordered[i], key, clips[key], now, seeded)
            _tickets(session, ordered[i], key, clips[key], attempt, seeded)
        for report in ordered[len(CALLS):len(CALLS) + UNREACHED]:
            _unreached(session, report, app.settings.tz, now)
        _move_ticket(session, seeded.tickets.get("basic_1"), now)
        for username, (role, station) in USERS.items():
            user = create_user(session, username, role, PASSWORD, "seed",
                               station_id=seeded.stations[station] if station else None)
            seeded.users[username] = role
            if role == "api":
                seeded.api_token = issue_api_token(session, user, "seed")
    return seeded


def _move_ticket(session: Session, ticket_id: int | None, now: datetime) -> None:
    """One ticket all the way to verified (销号), so the rectification rate is not zero."""
    from callback_service.db.models import Ticket
    if ticket_id is None:
        return
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    policy = TicketPolicy(sla=SlaPolicy())
    steps = ((states.ASSIGNED, "", 1), (states.RECTIFYING, "", 3), (states.RESOLVED, "已补办并电话致歉", 20),
             (states.VERIFIED, "回访核实满意", 30))
    for to, note, hours in steps:
        at = min(ticket.created_at + timedelta(hours=hours), now - timedelta(minutes=10))
        transition(session, ticket, to, "sup1", "supervisor", note, at, policy)
