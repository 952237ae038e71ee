"""RTP audio without pyVoIP's 8-bit buffers: G.711 in and out at full 16-bit quality.

pyVoIP 1.6.8 decodes received G.711 to 8-bit unsigned samples into a byte buffer whose
``read_audio(blocking=True)`` can block forever on a silent line, and whose non-blocking read pads
with silence whenever a packet is a little late, so a reader paced by the wall clock cut gaps into
recordings whenever the host was busy. It also encodes from 8-bit samples. ``G711RtpClient`` keeps
pyVoIP's sockets and threads but takes each received payload at parse time into ``InboundAudio``
(ordered by RTP timestamp, a short hold-back for reordering, real loss filled with silence), and
sends u-law bytes encoded from 16-bit PCM.
"""

from __future__ import annotations

import threading
import time
import warnings

from pyVoIP import RTP

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)   # pyVoIP needs it too; the project pins 3.11
    import audioop

RATE = 8000
HOLDBACK_PACKETS = 2          # a missing packet counts as lost once this many later ones arrived
MAX_FILL_SAMPLES = RATE       # a timestamp jump beyond this is a new talk spurt, not loss
_WRAP = 1 << 32
ULAW_SILENCE = b"\xff"


class InboundAudio:
    """Received audio as 16-bit PCM in timestamp order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packets: dict[int, bytes] = {}     # position (samples since the first packet) -> PCM
        self._base: int | None = None
        self._next = 0
        self.packets = 0                          # packets received, for liveness checks

    def push(self, timestamp: int, pcm: bytes) -> None:
        with self._lock:
            if self._base is None:
                self._base = timestamp
            pos = (timestamp - self._base) % _WRAP
            self.packets += 1
            if pos >= self._next and pos - self._next < _WRAP // 2:
                self._packets[pos] = pcm

    def pull(self, flush: bool = False) -> bytes:
        """Contiguous audio received since the last pull; a hole waits for its packet unless
        ``HOLDBACK_PACKETS`` later packets are already here (or ``flush``)."""
        out: list[bytes] = []
        with self._lock:
            while self._packets:
                pcm = self._packets.pop(self._next, None)
                if pcm is not None:
                    out.append(pcm)
                    self._next += len(pcm) // 2
                    continue
                if not flush and len(self._packets) <= HOLDBACK_PACKETS:
                    break
                later = min(self._packets)
                out.append(b"\x00\x00" * min(later - self._next, MAX_FILL_SAMPLES))
                self._next = later
        return b"".join(out)

    def skip(self, samples: int) -> None:
        """The reader filled ``samples`` of silence itself (far end not sending): stay aligned."""
        with self._lock:
            self._next += samples
            for pos in [p for p in self._packets if p < self._next]:
                del self._packets[pos]


class _UlawPacketManager(RTP.RTPPacketManager):
    """pyVoIP's send buffer, padding with u-law silence (pyVoIP pads with 8-bit linear silence)."""

    def read(self, length: int = 160) -> bytes:
        while self.rebuilding:
            time.sleep(0.01)
        with self.bufferLock:
            packet = self.buffer.read(length)
        return packet + ULAW_SILENCE * (length - len(packet))


class G711RtpClient(RTP.RTPClient):
    def __init__(self, *args: object, inbound: InboundAudio, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.inbound = inbound
        self.pmout = _UlawPacketManager()

    def write_pcm(self, pcm: bytes) -> None:
        self.write(audioop.lin2ulaw(pcm, 2))

    def parse_pcmu(self, packet: RTP.RTPMessage) -> None:
        self.inbound.push(packet.timestamp, audioop.ulaw2lin(packet.payload, 2))

    def parse_pcma(self, packet: RTP.RTPMessage) -> None:
        self.inbound.push(packet.timestamp, audioop.alaw2lin(packet.payload, 2))

    def encode_packet(self, payload: bytes) -> bytes:
        # The send buffer holds u-law already; pyVoIP labels packets with self.preference.
        if self.preference == RTP.PayloadType.PCMA:
            return audioop.lin2alaw(audioop.ulaw2lin(payload, 2), 2)
        return payload
