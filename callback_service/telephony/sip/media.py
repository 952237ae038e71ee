"""Real-time audio of one answered pyVoIP call: playback, key presses, end-pointed capture, mixing.

A reader thread moves received audio (16-bit, in RTP timestamp order, see ``rtp.py``) into an
inbound buffer that is a timeline: sample ``n`` was heard about ``n / 8000`` s after the answer
(silence is filled in while the far end sends no packets at all). Key presses come from RFC 2833
events (pyVoIP ``get_dtmf``) or, for far ends that only send tones, from the in-band Goertzel
detector; once a far end has sent one RFC 2833 event its in-band tones are ignored, so a key is
never counted twice.

The reader also watches RTP liveness: a far end that stops sending packets for ``rtp_timeout_s``
is treated as gone (pyVoIP cannot be relied on to deliver every BYE).
"""

from __future__ import annotations

import logging
import threading
import time

from callback_service.telephony.sip import audio
from callback_service.telephony.sip.calls import TrackedCall
from callback_service.telephony.sip.dtmf import DtmfDetector
from callback_service.telephony.walker import CallEnded

log = logging.getLogger(__name__)

QUIET_S = 0.5            # no packet for this long: the far end is not sending, fill with silence
VOICE_RMS = 500          # about -36 dBFS: a 20 ms frame above this is speech, not line noise
PLAYBACK_MARGIN = 1.01   # pyVoIP's sender sleeps a little longer than 20 ms per packet
PRE_ROLL_S = 0.3         # keep this much audio before the detected start of speech


class CallAudio:
    """Owns the reader thread of one call; ``close()`` stops it."""

    def __init__(self, call: TrackedCall, *, rtp_timeout_s: float = 8.0) -> None:
        self.call = call
        self.rtp_timeout_s = rtp_timeout_s
        self._inbound = bytearray()
        self._outbound: list[tuple[int, bytes]] = []
        self._digits: list[str] = []
        self._rfc2833_seen = False
        self._detector = DtmfDetector()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._play_until = 0.0
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="sip-call-audio", daemon=True)
        self._thread.start()

    # --- state --------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.call.ended.is_set()

    def samples(self) -> int:
        with self._changed:
            return len(self._inbound) // audio.WIDTH

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    # --- playback -----------------------------------------------------------------------------
    def play(self, pcm: bytes) -> None:
        """Send 16-bit PCM and return once it has been played out; raises CallEnded."""
        self._raise_if_ended()
        with self._changed:
            self._outbound.append((len(self._inbound) // audio.WIDTH, pcm))
        self.call.write_pcm(pcm)
        now = time.monotonic()
        self._play_until = max(now, self._play_until) + audio.duration_s(pcm) * PLAYBACK_MARGIN
        if self.call.ended.wait(timeout=self._play_until - now + 0.05):
            raise CallEnded(self.call.ended_by)

    # --- key presses --------------------------------------------------------------------------
    def flush_digits(self) -> None:
        with self._changed:
            self._digits.clear()

    def collect_digits(self, max_digits: int, timeout_s: float) -> str:
        """Up to ``max_digits`` keys ('#' ends early); '' on timeout. Raises CallEnded."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not self._have_digits(max_digits) and not self.ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(timeout=remaining)
            got = self._take_digits(max_digits)
        if not got:
            self._raise_if_ended()
        return got

    def _have_digits(self, max_digits: int) -> bool:
        return len(self._digits) >= max_digits or "#" in self._digits

    def _take_digits(self, max_digits: int) -> str:
        taken: list[str] = []
        while self._digits and len(taken) < max_digits:
            key = self._digits.pop(0)
            if key == "#":
                break
            taken.append(key)
        return "".join(taken)

    # --- capture ------------------------------------------------------------------------------
    def capture(self, max_s: float, silence_s: float, start_timeout_s: float, start: int | None = None) -> bytes:
        """Record from now (or timeline sample ``start``) until ``silence_s`` of quiet after speech,
        ``max_s``, or the hang-up.

        Returns b"" when nobody spoke within ``start_timeout_s``. Never raises CallEnded: what was
        said before a hang-up is kept.
        """
        ep = EndPointer(self.samples() if start is None else start, max_s, silence_s, start_timeout_s)
        with self._changed:
            while not self.ended:
                if ep.update(self._inbound):
                    break
                self._changed.wait(timeout=0.1)
            ep.update(self._inbound)
            return ep.slice(self._inbound)

    # --- whole call ---------------------------------------------------------------------------
    def call_recording(self) -> bytes:
        """Both directions mixed on one timeline (what a MixMonitor would have written)."""
        with self._changed:
            mixed = bytes(self._inbound)
            segments = list(self._outbound)
        for at, pcm in segments:
            mixed = audio.mix(mixed, pcm, at)
        return mixed

    # --- reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        last_packets, last_rx = 0, time.monotonic()
        while not self._stop.is_set() and not self.call.ended.is_set():
            now = time.monotonic()
            packets = self.call.rtp_packets_received()
            if packets != last_packets:
                last_packets, last_rx = packets, now
            elif now - last_rx > self.rtp_timeout_s:
                log.info("no RTP for %.1f s: treating the far end as gone", now - last_rx)
                self.call.mark_ended("rtp_timeout")
            pcm = self.call.inbound.pull()
            if not pcm and now - last_rx > QUIET_S:
                pcm = self._fill_to_clock(now)
            self._append(pcm, self.call.get_dtmf(16))
            self._stop.wait(audio.FRAME_MS / 1000)
        self._append(self.call.inbound.pull(flush=True), self.call.get_dtmf(16))

    def _fill_to_clock(self, now: float) -> bytes:
        """Silence for a far end that sends no packets (DTX, hold), so the timeline keeps time."""
        behind = int((now - self._t0 - QUIET_S) * audio.RATE) - self.samples()
        if behind <= 0:
            return b""
        if self.call.rtp_packets_received():
            self.call.inbound.skip(behind)
        return audio.silence(behind / audio.RATE)

    def _append(self, pcm: bytes, rfc2833: str) -> None:
        if pcm:
            self._detector.feed(pcm)
        inband = self._detector.pop_keys()
        with self._changed:
            self._inbound += pcm
            if rfc2833:
                self._rfc2833_seen = True
                self._digits.extend(rfc2833)
            elif inband and not self._rfc2833_seen:
                self._digits.extend(inband)
            self._changed.notify_all()

    def _raise_if_ended(self) -> None:
        if self.call.ended.is_set():
            raise CallEnded(self.call.ended_by)


class EndPointer:
    """Energy end-pointing over the inbound timeline, in 20 ms frames."""

    def __init__(self, start: int, max_s: float, silence_s: float, start_timeout_s: float) -> None:
        self.start = start
        self.max_samples = int(max_s * audio.RATE)
        self.silence_samples = int(silence_s * audio.RATE)
        self.start_timeout = int(start_timeout_s * audio.RATE)
        self.pos = start              # next frame to classify
        self.speech_at: int | None = None
        self.last_voice = start
        self.done = False

    def update(self, inbound: bytearray) -> bool:
        """Classify new frames; True once the capture is complete."""
        end = len(inbound) // audio.WIDTH
        while not self.done and self.pos + audio.FRAME_SAMPLES <= end:
            frame = bytes(inbound[self.pos * audio.WIDTH:(self.pos + audio.FRAME_SAMPLES) * audio.WIDTH])
            self.pos += audio.FRAME_SAMPLES
            self._classify(frame)
        return self.done

    def _classify(self, frame: bytes) -> None:
        if audio.rms(frame) >= VOICE_RMS:
            self.last_voice = self.pos
            if self.speech_at is None:
                self.speech_at = self.pos - audio.FRAME_SAMPLES
        elapsed = self.pos - self.start
        if self.speech_at is None:
            self.done = elapsed >= min(self.start_timeout, self.max_samples)
        else:
            self.done = elapsed >= self.max_samples or self.pos - self.last_voice >= self.silence_samples

    def slice(self, inbound: bytearray) -> bytes:
        if self.speech_at is None:
            return b""
        first = max(self.start, self.speech_at - int(PRE_ROLL_S * audio.RATE))
        last = min(self.pos, self.last_voice + int(0.5 * audio.RATE))
        return bytes(inbound[first * audio.WIDTH:last * audio.WIDTH])
