"""dialplans/*.conf: asterisklint, and the contract between the dialplan and the Python side."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from callback_service import contracts as c
from callback_service.surveys.model import Question, Survey
from callback_service.telephony.asterisk import outcome, variables
from callback_service.telephony.asterisk.client import AmiSettings
from callback_service.telephony.asterisk.protocol import FrameReader

REPO = Path(__file__).resolve().parents[2]
DIALPLANS = REPO / "dialplans"
EXTENSIONS = (DIALPLANS / "extensions.conf").read_text(encoding="utf-8")
CODE = "\n".join(line for line in EXTENSIONS.splitlines() if not line.lstrip().startswith(";"))
LINT = "import os, sys; from asterisklint.main import main; sys.exit(main(sys.argv[1:], os.environ))"


def test_asterisklint_finds_nothing_in_the_dialplan() -> None:
    """asterisklint-jjs checked against Asterisk 22 (it knows AMD there); no class is suppressed."""
    pytest.importorskip("asterisklint", reason="dev dependency asterisklint-jjs is not installed")
    env = {**os.environ, "ALINT_IGNORE": ""}
    run = subprocess.run([sys.executable, "-c", LINT, "dialplan-check", "--asterisk-version", "22",
                          "extensions.conf"], cwd=DIALPLANS, capture_output=True, text=True, timeout=120,
                         env=env, check=False)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


def test_asterisklint_would_catch_a_broken_dialplan(tmp_path: Path) -> None:
    pytest.importorskip("asterisklint", reason="dev dependency asterisklint-jjs is not installed")
    (tmp_path / "extensions.conf").write_text(EXTENSIONS.replace("?declined)", "?declinedx)")
                                              .replace("Playback(${CALLBACK_GOODBYE})", "Playbak(x)"))
    run = subprocess.run([sys.executable, "-c", LINT, "dialplan-check", "--asterisk-version", "22",
                          "extensions.conf"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode != 0
    report = run.stdout + run.stderr
    assert "E_APP_MISSING" in report and "declinedx" in report


def test_the_dialplan_points_to_the_shared_names() -> None:
    head = EXTENSIONS.split("[general]")[0]
    assert "callback_service/contracts.py" in head and "callback_service/telephony/asterisk/variables.py" in head


def test_every_variable_the_dialplan_reads_is_one_python_sets_and_back() -> None:
    question = Question(id="q1", text="t", prompt="p", kind="both", dtmf_map={"1": "y"})
    produced = dict(variables.survey_variables(1, Survey(id="s", title="t", questions=(question,)),
                                               recording_dir="/var/spool/asterisk/callback"))
    survey_level = {n for n in produced if not re.match(rf"{variables.QUESTION_VAR_PREFIX}\d+_", n)}
    per_question = {re.sub(r"^CALLBACK_Q1_|(?<=GO_).*$", "", n) for n in produced} - survey_level
    assert set(re.findall(r"\$\{(CALLBACK_[A-Z]+)\}", CODE)) == survey_level
    assert f"Set(LOCAL(P)={variables.QUESTION_VAR_PREFIX}${{ARG1}})" in CODE
    assert set(re.findall(r"\$\{\$\{P\}_([A-Z]+_?)", CODE)) == per_question
    assert f'"${{I}}" = "{variables.TARGET_DECLINE}"' in CODE and variables.TARGET_END == "0"
    assert "${REPLACE(DIGITS,*,S)}" in CODE and variables.digit_key("1*") == "1S"


def user_events(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, body in re.findall(r"UserEvent\((\w+),([^)\n]*)\)", text):
        fields = [part.split(":")[0].strip() for part in body.split(",")]
        assert found.setdefault(name, fields) == fields, f"{name} sent with different fields"
    return found


def test_user_events_match_the_contract_and_the_recorded_format() -> None:
    events = user_events(CODE)
    assert set(events) == {c.USEREVENT_ANSWER, c.USEREVENT_RECORDING, c.USEREVENT_END}
    data = (REPO / "tests" / "fixtures" / "ami" / "survey-session.ami").read_bytes()
    recorded = {m.get("UserEvent"): [k for k, _ in m.headers[m.headers.index(("UserEvent", m.get("UserEvent")))
                                                              + 1:]]
                for m in FrameReader().feed(re.sub(rb">>> SENT\r\n.*?\r\n\r\n", b"", data, flags=re.S))
                if m.event == "UserEvent"}
    assert events[c.USEREVENT_ANSWER] == recorded[c.USEREVENT_ANSWER] == ["CallbackId", "Question", "Digits"]
    assert events[c.USEREVENT_RECORDING] == recorded[c.USEREVENT_RECORDING] == [
        "CallbackId", "Question", "File", "Status"]
    assert events[c.USEREVENT_END] == ["CallbackId", "Status", "Question", "Asked", "AmdStatus"]


def test_survey_end_statuses_are_the_ones_the_correlator_maps() -> None:
    statuses = set(re.findall(r"Set\(SURVEY_END=(\w+)\)", CODE))
    assert statuses == {outcome.END_COMPLETE, outcome.END_DECLINED, outcome.END_MACHINE, outcome.END_HANGUP}


def test_recording_paths_follow_the_shared_template() -> None:
    assert "Set(SURVEY_DIR=${CALLBACK_RECDIR}/${CALLBACK_ID})" in CODE
    answer = c.RECORDING_PATH_TEMPLATE.format(attempt_id="${CALLBACK_ID}", question_id="${SURVEY_Q}")
    assert answer == "${CALLBACK_ID}/${SURVEY_Q}.wav"
    assert "Set(SURVEY_REC=${SURVEY_DIR}/${SURVEY_Q}.wav)" in CODE
    assert f"MixMonitor(${{SURVEY_DIR}}/{c.CALL_RECORDING_NAME})" in CODE


def test_the_flow_keeps_its_safety_properties() -> None:
    assert "Set(CHANNEL(hangup_handler_push)=callback-survey-end,s,1)" in CODE
    assert re.search(r"Record\([^)]*,k\)", CODE)
    amd_gate = CODE.index('GotoIf($["${CALLBACK_AMD}" != "1"]?start)')
    assert amd_gate < CODE.index("AMD()") < CODE.index("(start),MixMonitor")
    machine = CODE[CODE.index("(machine)"):]
    assert "Playback" not in machine.split("\n\n")[0]  # nothing is said to an answering machine


def conf(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, comment_prefixes=(";",), inline_comment_prefixes=(";",),
                                       interpolation=None)
    parser.read(DIALPLANS / name, encoding="utf-8")
    return parser


def test_manager_account_is_local_and_least_privilege() -> None:
    manager = conf("manager.conf")
    assert manager["general"]["bindaddr"] == "127.0.0.1"
    account = manager["callback"]
    assert account["permit"] == "127.0.0.1/255.255.255.255" and account["deny"] == "0.0.0.0/0.0.0.0"
    assert account["write"].replace(" ", "").split(",") == ["originate", "reporting"]
    assert set(AmiSettings().events.split(",")) == set(account["read"].replace(" ", "").split(","))
    assert account["secret"].startswith("CHANGE-ME")


def test_trunk_sample_holds_no_secret_and_lands_inbound_calls_in_a_dead_end() -> None:
    pjsip = conf("pjsip.conf")
    secrets = [v for s in pjsip.sections() for k, v in pjsip[s].items() if k in ("password", "md5_cred")]
    assert secrets and all(v.startswith("CHANGE-ME") for v in secrets)
    context = pjsip["carrier"]["context"]
    assert f"[{context}]" in CODE
    inbound = CODE[CODE.index(f"[{context}]"):]
    assert all("Hangup(21)" in line for line in inbound.splitlines()[1:] if line.startswith("exten"))
