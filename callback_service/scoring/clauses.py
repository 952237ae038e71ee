"""Split an answer into clauses, and clauses at contrast words, keeping which stage each part is in.

"态度挺好，就是一直没给我反馈" has two stages: the part after 就是/但是/不过 dominates the part
before it. A clause opened by 虽然/尽管 is a concession: it yields to whatever follows.
Whisper often drops punctuation, so contrast words split a clause even without a comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callback_service.scoring.lexicon_terms import CONCESSION_MARKERS, CONTRAST_MARKERS

MASK = "□"

# A-not-A questions (满不满意, 管不管, 立没立) ask rather than assert: mask them so neither half counts.
_A_NOT_A = re.compile(r"(?<!爱)(?![是那这我你他她它一][不没])([\u4e00-\u9fff]{1,2})[不没]\1")
# If a verdict word follows, the 不 may negate it (是 + 不是很满意): a negation must never be lost.
_VERDICT_AHEAD = re.compile(r"^[很太那么这么特别非常是都也还挺怎么大]*满意")
_SEPARATORS = re.compile(r"([,.!?;，。！？；、:：\s…~～\"'“”‘’()（）]+)")
_CONTRAST = re.compile(
    "|".join(re.escape(m) + ("(?!愿|凡)" if m == "但" else "(?!说|这样|那样)" if m == "就是" else "")
             for m in CONTRAST_MARKERS)
)


@dataclass(frozen=True)
class Clause:
    text: str           # with A-not-A questions masked
    index: int          # position among all clauses of the answer
    stage: int          # 0 before the first contrast word, then 1, 2...
    concession: bool    # opened by 虽然/尽管, or follows one before the next contrast word
    question: bool      # ended with a question mark


def _mask(m: re.Match[str]) -> str:
    if _VERDICT_AHEAD.match(m.string[m.end():]):
        return m.group(0)
    return MASK * len(m.group(0))


def mask_a_not_a(text: str) -> str:
    return _A_NOT_A.sub(_mask, text)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """(piece, ends_with_question_mark) for each punctuation-separated piece."""
    parts = _SEPARATORS.split(text)
    out: list[tuple[str, bool]] = []
    for i in range(0, len(parts), 2):
        piece = parts[i]
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        if piece:
            out.append((piece, "?" in sep or "？" in sep))
    return out


def _split_contrast(piece: str) -> list[tuple[str, bool]]:
    """Sub-pieces and whether each one was opened by a contrast word."""
    out: list[tuple[str, bool]] = []
    last, opened = 0, False
    for m in _CONTRAST.finditer(piece):
        if m.start() > last or opened:
            out.append((piece[last:m.start()], opened))
        last, opened = m.end(), True
    out.append((piece[last:], opened))
    return [(text, flag) for text, flag in out if text or flag]


def split_clauses(text: str) -> list[Clause]:
    clauses: list[Clause] = []
    stage, conceding, seen_content = 0, False, False
    for piece, question in _pieces(mask_a_not_a(text)):
        for sub, contrasted in _split_contrast(piece):
            if contrasted and seen_content:
                stage += 1
                conceding = False
            if sub.startswith(CONCESSION_MARKERS):
                conceding = True
            if not sub:
                continue
            clauses.append(Clause(sub, len(clauses), stage, conceding, question))
            seen_content = True
    return clauses
