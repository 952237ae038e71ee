"""The demo's real telephone network: Kamailio on loopback, one pyVoIP citizen per demo ``Script``,
and a ``SipDialer`` registered on it. Nothing is simulated above the citizens' scripts: prompts,
keys (in-band tones) and spoken answers cross RTP as G.711.

How a script becomes citizen steps. A citizen acts after each prompt it hears, a prompt being speech
followed by ``PROMPT_SILENCE_S`` of quiet. The dialer plays an announcement (kind ``say``) and the
question after it back to back, and a speech question and its recording beep likewise; the pauses
inside and between the committed espeak prompts are at most about 0.45 s, so each such pair is
heard as ONE prompt. Steps are therefore made only where the dialer waits for the citizen: the
script's key at each keypad question (or silence through every repetition of the prompt when the
script has no key), and the script's clip after each speech question. The walk follows the
template's branches with those keys and stops where the walker stops (``safe_to_talk`` not "yes",
too many silent questions in a row). The survey is the one the planner picks for the number
(``Script.survey``: first_callback, domestic_violence or guardian).

A script's later outcomes (busy, then answer) become ``CitizenBehaviour.later_modes``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from callback_service.demo.citizens import Script
from callback_service.surveys.model import Question, Survey
from callback_service.surveys.schema import Q_SAFE_TO_TALK
from callback_service.telephony.sip.citizen import CitizenBehaviour, Step
from callback_service.telephony.sip.dialer import SipDialer
from callback_service.telephony.sip.loopback import start_loopback_network
from callback_service.telephony.walker import SAFE_TO_TALK_YES

log = logging.getLogger(__name__)

PROMPT_SILENCE_S = 1.0       # > the longest pause inside or between back-to-back prompts (~0.45 s)
MAX_CALL_S = 300.0           # the longest real template call is about 2.5 minutes
MAX_SILENT_QUESTIONS = 2     # = SurveyWalker's default: the dialer gives up after this many
WAIT = Step("silence", "0.1")    # say nothing; the next step waits for the next prompt


class SipNetworkError(RuntimeError):
    """The loopback network does not match the scripts (the demo falls back or stops)."""


def _key(script: Script, q: Question) -> str:
    return script.digits.get(q.id, script.digits.get("*", ""))


def _keypad_steps(q: Question, key: str) -> tuple[list[Step], str | None]:
    """Steps for one keypad prompt (with its repetitions) and the digits the dialer will accept."""
    plays = 1 + (q.retries if q.kind == "dtmf" else 0)     # "both" asks for the key once
    if key and (not q.dtmf_map or key in q.dtmf_map):
        return [Step("dtmf", key)], key
    return [Step("dtmf", key) if key else WAIT for _ in range(plays)], None


def steps_for(survey: Survey, script: Script) -> tuple[Step, ...]:
    """The citizen's steps through ``survey`` answering as ``script`` says (see the module doc)."""
    steps: list[Step] = []
    silent_run = 0
    question: Question | None = survey.questions[0] if survey.questions else None
    while question is not None:
        digits = None
        if question.kind in ("dtmf", "both"):
            keypad, digits = _keypad_steps(question, _key(script, question))
            steps += keypad
        if question.kind in ("speech", "both"):
            steps.append(Step("speak", str(script.clip)) if script.clip else WAIT)
        if question.kind != "say":
            spoke = script.clip is not None and question.kind in ("speech", "both")
            silent_run = 0 if digits or spoke else silent_run + 1
        if question.id == Q_SAFE_TO_TALK and question.dtmf_map.get(digits or "") != SAFE_TO_TALK_YES:
            break
        if silent_run >= MAX_SILENT_QUESTIONS:
            break
        nxt = survey.next_question_id(question, digits)
        question = survey.question(nxt) if nxt else None
    return tuple(steps)


def behaviour_for(script: Script, surveys: dict[str, Survey]) -> CitizenBehaviour:
    first, *later = script.outcomes or ("answer",)
    survey = surveys.get(script.survey)
    if survey is None and "answer" in script.outcomes:
        raise SipNetworkError(f"no survey template {script.survey!r} for a scripted citizen")
    steps = steps_for(survey, script) if survey is not None else ()
    return CitizenBehaviour(first, steps=steps, prompt_silence_s=PROMPT_SILENCE_S, max_call_s=MAX_CALL_S,
                            later_modes=tuple(later))


def start_sip_network(scripts: list[Script], stack: ExitStack, *, surveys: dict[str, Survey],
                      prompts_dir: Path, clock: Callable[[], datetime] | None = None) -> SipDialer:
    """Start Kamailio and one citizen per script (numbered 13900000001... in script order), and a
    registered SipDialer on them; all of it is stopped when ``stack`` closes."""
    phones = [s.phone_e164 for s in scripts]
    if len(set(phones)) != len(phones):
        raise SipNetworkError("two demo scripts share a phone number")
    scenarios = {s.phone_e164: behaviour_for(s, surveys) for s in scripts}
    with ExitStack() as starting:
        net = starting.enter_context(start_loopback_network(scenarios))
        wrong = [p for p in phones if net.number(p) != p]
        if wrong:
            raise SipNetworkError(f"{len(wrong)} report phones differ from their citizens' numbers; the "
                                  "sample must number its phones like the citizen pool")
        dialer = SipDialer(net.dialer_settings(prompts_dir), clock=clock)
        starting.callback(dialer.close)
        dialer.start()
        stack.enter_context(starting.pop_all())
    log.info("SIP loopback network up: Kamailio on port %s, %s citizens", net.registrar.port, len(scripts))
    return dialer
