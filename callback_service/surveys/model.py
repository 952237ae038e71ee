"""Survey template data model, shared by the loader, both dialers and prompt rendering.

The YAML schema (survey_templates/*.yaml) is validated into these frozen dataclasses by
``surveys.loader``. Dialers only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    id: str
    text: str                       # Simplified Chinese prompt text
    prompt: str                     # prompt audio name, relative to scripts_voice/audio/ (no extension)
    kind: str                       # "dtmf" | "speech" | "both" | "say" (announcement only)
    dtmf_map: dict[str, str] = field(default_factory=dict)   # digit -> answer value
    max_digits: int = 1
    dtmf_timeout_s: float = 6.0
    retries: int = 1
    record_max_s: float = 15.0
    record_silence_s: float = 2.5
    # digit or answer value -> next question id, or "end"/"goodbye"; "*" is the default branch
    branches: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Survey:
    id: str
    title: str
    questions: tuple[Question, ...]
    goodbye: Question | None = None

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def next_question_id(self, current: Question, answer: str | None) -> str | None:
        """Follow the branch for this answer; default to the next question in order."""
        target = current.branches.get(answer or "", current.branches.get("*"))
        if target in ("end", "goodbye"):
            return None
        if target:
            return target
        ids = [q.id for q in self.questions]
        i = ids.index(current.id)
        return ids[i + 1] if i + 1 < len(ids) else None
