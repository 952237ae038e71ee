"""Simulated citizens: SIP phones (pyVoIP) that take the survey call the way a scripted person would.

Each ``SimulatedCitizen`` registers under a numeric username (``13900000001`` ...) and, per its
``CitizenBehaviour``, rejects the call busy (486), lets it ring until the caller gives up, or answers
and runs a script: after each prompt it hears (speech followed by ``prompt_silence_s`` of quiet) it
presses keys, speaks a WAV, stays silent or hangs up. ``later_modes`` changes the behaviour on later
calls (busy first, then answer), so the planner's retries can be exercised.

Prompts the dialer plays back to back (an announcement and the question after it, a question and
the recording beep) are heard as ONE prompt, because the pause between them is shorter than
``prompt_silence_s``; a script therefore has one step per point where the dialer waits for the
citizen, not one per template question (``callback_service.demo.sip_network`` derives such steps).

Keys are sent in-band by default: pyVoIP 1.6.8 cannot send RFC 2833 events, so the dialer's Goertzel
detector is what hears them. ``dtmf_mode="rfc2833"`` instead hand-crafts RFC 4733 event packets, to
exercise the dialer's RFC 2833 path.

This is a test and demo network, not product code: nothing in the service imports it.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

from callback_service.security.masking import mask_phone
from callback_service.telephony.sip import audio
from callback_service.telephony.sip.calls import TrackedCall
from callback_service.telephony.sip.media import CallAudio
from callback_service.telephony.sip.phone import SipAccount, SipPhone
from callback_service.telephony.walker import CallEnded

log = logging.getLogger(__name__)

MODES = ("answer", "busy", "no_answer")
ACTIONS = ("dtmf", "speak", "silence", "hangup")


@dataclass(frozen=True)
class Step:
    action: str                 # one of ACTIONS
    value: str = ""             # keys for "dtmf", a WAV path for "speak", seconds for "silence"
    after_prompt: bool = True   # wait for the dialer's next prompt to finish first

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown citizen action {self.action!r}")


@dataclass(frozen=True)
class CitizenBehaviour:
    mode: str = "answer"
    steps: tuple[Step, ...] = ()
    dtmf_mode: str = "inband"            # "inband" | "rfc2833"
    ring_s: float = 0.0                  # extra ringing before answering (pyVoIP already rings ~1 s)
    prompt_silence_s: float = 0.6
    max_call_s: float = 120.0
    later_modes: tuple[str, ...] = ()    # modes of the 2nd, 3rd ... call; the last one repeats

    def __post_init__(self) -> None:
        for mode in (self.mode, *self.later_modes):
            if mode not in MODES:
                raise ValueError(f"unknown citizen mode {mode!r}")

    def mode_for(self, call_index: int) -> str:
        """The mode of the citizen's call number ``call_index`` (0: the first call)."""
        modes = (self.mode, *self.later_modes)
        return modes[min(call_index, len(modes) - 1)]


@dataclass
class CitizenCallLog:
    """What one citizen did and heard on one call (for test assertions and the demo)."""

    answered: bool = False
    rejected: bool = False
    prompts_heard: int = 0
    actions: list[str] = field(default_factory=list)
    ended_by: str = ""


class SimulatedCitizen:
    def __init__(self, username: str, behaviour: CitizenBehaviour, account: SipAccount) -> None:
        self.username = username
        self.behaviour = behaviour
        self.phone = SipPhone(account, on_incoming=self._on_call)
        self.calls: list[CitizenCallLog] = []
        self._done = threading.Condition()

    def start(self) -> None:
        self.phone.start()

    def stop(self) -> None:
        self.phone.stop()
        self.phone.join_call_threads(timeout_s=10)

    def wait_for_calls(self, count: int, timeout_s: float) -> bool:
        """True once ``count`` calls have been handled to their end."""
        with self._done:
            return self._done.wait_for(lambda: sum(1 for c in self.calls if c.ended_by) >= count,
                                       timeout=timeout_s)

    def _on_call(self, call: TrackedCall) -> None:
        entry = CitizenCallLog()
        with self._done:
            index = len(self.calls)
            self.calls.append(entry)
        try:
            self._handle(call, entry, self.behaviour.mode_for(index))
        except Exception:
            log.exception("simulated citizen %s failed on a call", mask_phone(self.username))
        finally:
            with self._done:
                entry.ended_by = entry.ended_by or call.ended_by or "citizen_done"
                self._done.notify_all()

    def _handle(self, call: TrackedCall, entry: CitizenCallLog, mode: str) -> None:
        b = self.behaviour
        if mode == "busy":
            call.deny()
            entry.rejected = True
            return
        if mode == "no_answer" or call.ended.wait(timeout=b.ring_s):
            call.ended.wait(timeout=b.max_call_s)     # until the caller cancels
            return
        call.answer()
        entry.answered = True
        media = CallAudio(call, rtp_timeout_s=b.max_call_s)
        try:
            self._run_script(call, media, entry)
            call.ended.wait(timeout=b.max_call_s)     # the dialer hangs up after its goodbye
        finally:
            media.close()
            if not call.ended.is_set():
                self.phone.hangup(call)

    def _run_script(self, call: TrackedCall, media: CallAudio, entry: CitizenCallLog) -> None:
        # The dialer may answer an action while it is still under way (a beep right after the key is
        # heard), so "the next prompt" is listened for from the moment the previous action started.
        mark = 0
        for step in self.behaviour.steps:
            if step.after_prompt and not self._hear_prompt(media, entry, mark):
                return
            mark = media.samples()
            try:
                if not self._act(step, call, media):
                    return
            except CallEnded:
                return
            entry.actions.append(f"{step.action}:{Path(step.value).name if step.action == 'speak' else step.value}")
        mark = media.samples()
        while self._hear_prompt(media, entry, mark):     # what follows the script (e.g. the goodbye)
            mark = media.samples()

    def _hear_prompt(self, media: CallAudio, entry: CitizenCallLog, start: int) -> bool:
        heard = media.capture(max_s=120.0, silence_s=self.behaviour.prompt_silence_s,
                              start_timeout_s=self.behaviour.max_call_s, start=start)
        if heard:
            entry.prompts_heard += 1
        return bool(heard) and not media.ended

    def _act(self, step: Step, call: TrackedCall, media: CallAudio) -> bool:
        """Perform one step; False when the script ends here."""
        if step.action == "hangup":
            self.phone.hangup(call)
            return False
        if step.action == "dtmf":
            self._press(step.value, call, media)
        elif step.action == "speak":
            media.play(audio.read_wav(Path(step.value)))
        elif step.action == "silence":
            media.play(audio.silence(float(step.value)))
        return True

    def _press(self, keys: str, call: TrackedCall, media: CallAudio) -> None:
        for key in keys:
            if self.behaviour.dtmf_mode == "rfc2833":
                call.send_rfc2833(key)
            else:
                media.play(audio.dtmf_tone(key))


def citizen_numbers(count: int, first: int = 13900000001) -> list[str]:
    return [str(first + i) for i in range(count)]


class CitizenPool:
    """Several citizens on one SIP server, each under its own number, running at once."""

    PORTS_PER_PHONE = 20

    def __init__(self, server: str, port: int, scenarios: dict[str, CitizenBehaviour], *,
                 local_ip: str = "127.0.0.1", rtp_base: int | None = None, first_number: int = 13900000001) -> None:
        self.rtp_base = rtp_base or random.randrange(20000, 58000, 100)
        self.citizens: dict[str, SimulatedCitizen] = {}
        for i, (name, username) in enumerate(zip(scenarios, citizen_numbers(len(scenarios), first_number))):
            low = self.rtp_base + self.PORTS_PER_PHONE * (i + 1)     # block 0 is left for the dialer
            account = SipAccount(server, port, username, local_ip=local_ip,
                                 rtp_port_low=low, rtp_port_high=low + self.PORTS_PER_PHONE - 1)
            self.citizens[name] = SimulatedCitizen(username, scenarios[name], account)

    def number(self, scenario: str) -> str:
        """The E.164 number that rings this scenario's citizen."""
        return "+86" + self.citizens[scenario].username

    def start(self) -> None:
        started: list[SimulatedCitizen] = []
        try:
            for citizen in self.citizens.values():
                citizen.start()
                started.append(citizen)
        except BaseException:
            for citizen in started:
                citizen.stop()
            raise

    def stop(self) -> None:
        for citizen in self.citizens.values():
            citizen.stop()
