"""AMI injection: CR/LF, AMI headers and dialplan syntax in every field that could reach Asterisk.

Two routes are tried. Through the product: reports carrying the payloads are imported, planned and
dialled by the real AsteriskDialer against the replay server (tests/integration/ami_server.py), and
the bytes that reached the socket are inspected. Directly: every CallRequest field and survey field
gets every payload and the dialer must refuse before writing anything.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from corpus import AMI, CONTROL
from sec_tally import TALLY
from sqlalchemy import select

from callback_service.app import App
from callback_service.db.models import Phone, Report, Reporter
from callback_service.intake.service import import_rows
from callback_service.pipeline.scheduler import schedule_step
from callback_service.pipeline.stages import dial_attempt
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk.client import AmiSettings
from callback_service.telephony.asterisk.dialer import AsteriskDialer, AsteriskDialerSettings
from callback_service.telephony.asterisk.trunks import Trunk
from callback_service.telephony.dialer import CallRequest, DialerError

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))
from ami_server import AmiReplayServer  # noqa: E402

pytestmark = pytest.mark.timeout(120)
SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "survey-session.ami"
TZ = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)
TEXT_FIELDS = ("report_no", "station", "reporter_name", "category", "reporter_id_number", "guardian_phone")
# Report fields never reach Asterisk at all: their payloads' marker must not be on the wire.
MARKERS = (b"666", b"INJECTED", b"evil")
ORIGINATE_KEYS = {"Action", "ActionID", "Channel", "Context", "Exten", "Priority", "Timeout", "CallerID", "Async",
                  "Variable", "ChannelId"}
ACTIONS = {"Login", "Originate", "Logoff", "Ping", "CoreShowChannels"}
VARIABLE = re.compile(r"CALLBACK_[A-Z0-9_]+=[A-Za-z0-9_.:/+@-]*\Z")
CHANNEL = re.compile(r"Local/[0-9]+@citizen-sim\Z")


def _dialer(port: int, caller_name: str = "") -> AsteriskDialer:
    ami = AmiSettings(port=port, secret="s3cret", backoff_initial_s=0.05, backoff_max_s=0.2, connect_timeout_s=2,
                      wake_s=0.05)
    return AsteriskDialer(AsteriskDialerSettings(
        ami=ami, trunks=(Trunk("sim", "Local/{national}@citizen-sim", 4),), linger_s=0.3, tick_s=0.02,
        originate_wait_s=10, caller_name=caller_name))


def _assert_clean(server: AmiReplayServer) -> None:
    """Framing intact, only the service's own actions and headers, every value in its allowed form."""
    sent = bytes(server.received)
    assert sent.count(b"\n") == sent.count(b"\r\n") and sent.count(b"\r") == sent.count(b"\r\n")
    assert server.errors == []
    for action in server.actions:
        headers = [(k, v) for k, v in action if k]
        name = dict(headers)["Action"]
        assert name in ACTIONS, name
        if name != "Originate":
            continue
        keys = [k for k, _ in headers]
        assert set(keys) <= ORIGINATE_KEYS and all(keys.count(k) == 1 for k in set(keys) - {"Variable"}), keys
        assert CHANNEL.match(dict(headers)["Channel"]), dict(headers)["Channel"]
        assert (dict(headers)["Context"], dict(headers)["Exten"]) == ("callback-survey", "s")
        pairs = [pair for k, v in headers if k == "Variable" for pair in v.split(",")]
        assert pairs and all(VARIABLE.match(pair) for pair in pairs), pairs


def _row(i: int, field: str = "", payload: str = "") -> dict[str, str]:
    """A valid report whose ``field`` carries ``payload`` after its normal value."""
    row = {"report_no": f"INJ{i:03d}", "received_at": "2026-11-24 09:00", "station": "城关派出所",
           "channel": "walk_in", "reporter_name": "张三", "category": "盗窃",
           "reporter_id_number": "11010519491231002X", "guardian_phone": "0356-2021234",
           "reporter_phone": f"1390000000{1 + i % 4}"}
    if field:
        row[field] += payload
    return row


def test_payloads_with_line_breaks_never_enter_the_database(app: App) -> None:
    cases = [(f, c) for f in (*TEXT_FIELDS, "reporter_phone") for c in CONTROL]
    rows = [(n, _row(n, field, f"{ch}Action: Originate{ch}Channel: Local/666@evil"))
            for n, (field, ch) in enumerate(cases, 1)]
    result = import_rows(app.sessions, rows, app.intake_limits)
    assert result.imported == 0 and len({p.line for p in result.rejected}) == len(rows)
    assert {p.line for p in result.rejected if "control character" in p.error} == {n for n, _ in rows}
    TALLY.add("AMI injection: CR/LF/NUL/U+2028/NEL in every report field (import)", "row rejected at intake",
              len(rows))


def test_reports_carrying_ami_payloads_are_dialled_without_a_single_unsafe_byte(app: App) -> None:
    payloads = [p for p in AMI if not any(c in p for c in CONTROL)]
    cases = [(f, p) for f in (*TEXT_FIELDS, "reporter_phone") for p in payloads]
    result = import_rows(app.sessions, [(n, _row(n, f, p)) for n, (f, p) in enumerate(cases, 1)], app.intake_limits)
    assert result.imported + len(result.rejected) == len(cases) and result.imported > len(payloads)
    with app.sessions() as s:
        names = set(s.scalars(select(Reporter.name)))
        dialled = set(s.scalars(select(Phone.e164).join(Report, Report.phone_id == Phone.id)))
    short = [p for p in payloads if len(p) < 100]      # longer ones exceed the field limit: rejected
    assert {f"张三{unicodedata.normalize('NFKC', p).strip()}" for p in short} <= names   # stored verbatim
    assert dialled <= {f"+861390000000{k}" for k in range(1, 5)} | {None}
    with AmiReplayServer(SCRIPT) as server:
        dialer = _dialer(server.port).start()
        try:
            ctx = app.stage_context(dialer=dialer)
            ctx.clock = lambda: MORNING
            claimed = schedule_step(ctx, MORNING, claim_limit=4).claimed
            outcomes = [dial_attempt(ctx, a) for a in claimed]
        finally:
            dialer.close()
    assert len(claimed) == 4 and all(outcomes)
    _assert_clean(server)
    assert [m for m in MARKERS if m in bytes(server.received)] == []
    assert len(server.named("Originate")) == len(outcomes)
    TALLY.add("AMI injection: AMI headers/dialplan syntax in every report field, imported and dialled",
              "stored verbatim or rejected by field rules; nothing unsafe on the socket", len(cases))


REQUEST_FIELDS = ("phone", "caller_id", "survey_id", "question_id", "prompt", "dtmf_answer", "branch", "recordings_dir")


def _request(field: str, payload: str, tmp: Path) -> CallRequest:
    q = Question(id="q1", text="t", prompt="q1", kind="dtmf", dtmf_map={"1": "satisfied"})
    sid, phone, caller, recdir = "test", "+8613900000001", "0356110", tmp
    if field in ("question_id", "prompt", "dtmf_answer", "branch"):
        change = {"question_id": {"id": "q" + payload}, "prompt": {"prompt": "q" + payload},
                  "dtmf_answer": {"dtmf_map": {"1": payload}}, "branch": {"branches": {"1": payload}}}[field]
        q = Question(**{**q.__dict__, **change})
    sid = sid + payload if field == "survey_id" else sid
    phone = phone + payload if field == "phone" else phone
    caller = caller + payload if field == "caller_id" else caller
    recdir = Path(str(tmp) + payload) if field == "recordings_dir" else recdir
    return CallRequest(attempt_id=1001, phone_e164=phone, survey=Survey(id=sid, title="t", questions=(q,)),
                       recordings_dir=recdir, caller_id=caller, timeout_s=30)


def test_every_payload_in_every_call_field_is_refused_before_the_socket(tmp_path: Path) -> None:
    with AmiReplayServer(SCRIPT) as server:
        dialer = _dialer(server.port, caller_name="回访").start()
        try:
            for field in REQUEST_FIELDS:
                for payload in AMI:
                    outcome = _try(dialer, _request(field, payload, tmp_path))
                    TALLY.add(f"AMI injection: payload in call field '{field}' (dialer)", outcome)
            good = dialer.call(_request("none", "", tmp_path))
        finally:
            dialer.close()
    assert good.disposition
    _assert_clean(server)
    sent = bytes(server.received)
    assert b"INJECTED" not in sent and b"Hangup" not in sent and b"SHELL" not in sent


def _try(dialer: AsteriskDialer, request: CallRequest) -> str:
    try:
        dialer.call(request)
    except DialerError as exc:
        assert exc.transient is False
        return "refused before sending (permanent DialerError)"
    # Only a payload confined to the safe character set gets here (e.g. "Local/666@evil" as a prompt
    # file name), or one in a field that is never sent (answer values, the local recordings dir);
    # _assert_clean checks every byte that went out.
    return "sent, neutralised: value confined to the safe charset or never sent"


def test_an_unsafe_caller_name_setting_never_reaches_the_socket(tmp_path: Path) -> None:
    with AmiReplayServer(SCRIPT) as server:
        for payload in [p for p in AMI if len(p) < 100]:
            try:
                dialer = _dialer(server.port, caller_name="回访" + payload)
            except DialerError:
                TALLY.add("AMI injection: payload in the caller-name setting", "refused at start-up")
                continue
            try:
                outcome = _try(dialer.start(), _request("none", "", tmp_path))
            finally:
                dialer.close()
            TALLY.add("AMI injection: payload in the caller-name setting", outcome)
    _assert_clean(server)
    callers = [dict(a)["CallerID"] for a in server.actions if dict(a).get("Action") == "Originate"]
    assert all(c.startswith('"回访') and c.endswith('" <0356110>') and c.count('"') == 2 for c in callers)
