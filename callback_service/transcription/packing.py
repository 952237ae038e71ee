"""Packing several short answers into one 30-second Whisper window (pure planning, no model).

Whisper's encoder always reads 30 s, so a 3-second answer alone wastes about nine tenths of it.
Answers are laid out one after another, separated by silence, and the window is encoded once; each
answer is then decoded on its own (see decoding.py), so its text cannot run into a neighbour's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 30.0
FRAMES_PER_SECOND = 50          # encoder output frames (20 ms each)
WINDOW_FRAMES = int(WINDOW_SECONDS * FRAMES_PER_SECOND)


@dataclass(frozen=True)
class Placement:
    index: int                  # position of the clip in the caller's list
    offset: float               # seconds from the window start where the clip's samples begin
    samples: np.ndarray         # the (trimmed) clip, 16 kHz mono float32

    @property
    def duration(self) -> float:
        return self.samples.size / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.offset + self.duration

    def frame_range(self) -> tuple[int, int]:
        lo = int(self.offset * FRAMES_PER_SECOND)
        hi = min(WINDOW_FRAMES, int(np.ceil(self.end * FRAMES_PER_SECOND)))
        return lo, hi


@dataclass(frozen=True)
class Window:
    placements: tuple[Placement, ...]

    def render(self) -> np.ndarray:
        """The 30-second buffer the encoder reads: each clip at its offset, silence elsewhere."""
        buffer = np.zeros(int(WINDOW_SECONDS * SAMPLE_RATE), dtype=np.float32)
        for p in self.placements:
            start = int(round(p.offset * SAMPLE_RATE))
            buffer[start:start + p.samples.size] = p.samples
        return buffer


@dataclass(frozen=True)
class PackingPlan:
    lead: float = 0.5           # silence before the first clip
    gap: float = 1.0            # silence between clips; keeps the encoder's view of each clip apart
    tail: float = 1.0           # silence kept free at the end of the window
    max_clip: float = 12.0      # longer clips are not packed

    def fits(self, samples: np.ndarray) -> bool:
        return samples.size / SAMPLE_RATE <= self.max_clip

    def plan(self, clips: Sequence[tuple[int, np.ndarray]]) -> list[Window]:
        """First-fit decreasing: longest clips first, each into the first window with room.

        Every clip must satisfy fits(). Order inside a window does not matter: each clip is decoded
        on its own view of the window.
        """
        limit = WINDOW_SECONDS - self.tail
        bins: list[list[Placement]] = []
        cursors: list[float] = []
        for index, samples in sorted(clips, key=lambda c: -c[1].size):
            duration = samples.size / SAMPLE_RATE
            slot = next((b for b, cursor in enumerate(cursors) if cursor + duration <= limit), None)
            if slot is None:
                bins.append([])
                cursors.append(self.lead)
                slot = len(bins) - 1
            bins[slot].append(Placement(index, cursors[slot], samples))
            cursors[slot] += duration + self.gap
        return [Window(tuple(b)) for b in bins]
