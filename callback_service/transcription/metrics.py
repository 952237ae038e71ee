"""Character error rate for Mandarin transcripts, shared by the benchmark and the tests."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from callback_service.transcription.text import to_simplified


def normalise_for_cer(text: str) -> str:
    """Simplified, NFKC (full-width to half-width), lower case, no punctuation, symbols or spaces."""
    text = unicodedata.normalize("NFKC", to_simplified(text)).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def edit_distance(ref: str, hyp: str) -> int:
    """Levenshtein distance over characters (substitutions, insertions, deletions cost 1)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    """CER of one pair; an empty reference scores 0 for an empty hypothesis and 1 otherwise."""
    ref, hyp = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def corpus_cer(pairs: Iterable[tuple[str, str]]) -> float:
    """Total edits over total reference characters: long answers weigh more than one-word ones."""
    edits = chars = 0
    for reference, hypothesis in pairs:
        ref, hyp = normalise_for_cer(reference), normalise_for_cer(hypothesis)
        edits += edit_distance(ref, hyp)
        chars += len(ref)
    return edits / chars if chars else 0.0
