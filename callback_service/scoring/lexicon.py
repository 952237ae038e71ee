"""The default offline scorer: Chinese lexicon + negation/contrast rules + pinyin-tolerant matching.

Pipeline for one answer: normalise (``normalize.py``) -> repair ASR homophones on pinyin
(``pinyin_match.py``) -> split into clauses and contrast stages (``clauses.py``) -> evidence items
with negation, degree and rhetoric (``rules.py``) and problem codes (``problems.py``) -> one verdict
(``verdict.py``). Every step is pure and fast (thousands of answers a second on one core).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from callback_service.scoring.base import METHOD_LEXICON, REVIEW_CONFIDENCE, Scorer, ScoreResult
from callback_service.scoring.clauses import Clause, split_clauses
from callback_service.scoring.normalize import CleanText, clean
from callback_service.scoring.pinyin_match import Canonical, canonicalize
from callback_service.scoring.problems import ProblemHit, detect
from callback_service.scoring.rules import KIND_VERDICT, Item, term_items
from callback_service.scoring.verdict import Verdict, decide

log = logging.getLogger(__name__)

MAX_REASONS = 12
_MISPRESS = re.compile(r"[按摁点]错了?|按的不对|按成了|不小心按")
# A verdict that rests on a near-sound repair (买一 -> 满意) is less certain than one read verbatim.
FUZZY_CONFIDENCE_FACTOR = 0.85


@dataclass(frozen=True)
class Analysis:
    """Everything the lexicon saw; the review UI can show it next to the transcript."""

    clean: CleanText
    canonical: Canonical
    clauses: list[Clause]
    items: list[Item]
    hits: list[ProblemHit]
    verdict: Verdict

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h.code for h in self.hits if not h.negated))

    @property
    def explicit_verdict(self) -> bool:
        return self.verdict.basis in ("explicit", "downgraded", "strong")

    @property
    def unknown_markers(self) -> bool:
        return any(i.kind == "unknown" for i in self.items)

    @property
    def retracts_dtmf(self) -> bool:
        """哎呀，刚才按错了: the citizen says the key they pressed was a mistake."""
        return bool(_MISPRESS.search(self.clean.text))

    def reasons(self) -> tuple[str, ...]:
        out = [s.reason() for s in self.canonical.substitutions]
        out += [f"asr_hallucination:{d}" for d in self.clean.dropped]
        out += [i.reason() for i in self.items]
        out += [f"{h.code}:{h.phrase}" + (" (negated)" if h.negated else "") for h in self.hits]
        return tuple(dict.fromkeys(out))[:MAX_REASONS]


def analyse(text: str | None) -> Analysis:
    cleaned = clean(text)
    canonical = canonicalize(cleaned.text)
    clauses = split_clauses(canonical.text)
    items = term_items(clauses)
    hits = detect(clauses)
    said_nothing = cleaned.filler_only
    return Analysis(cleaned, canonical, clauses, items, hits, decide(items, hits, said_nothing=said_nothing))


def _confidence(analysis: Analysis) -> float:
    conf = analysis.verdict.confidence
    verdict_fuzzy = analysis.canonical.fuzzy and any(i.kind == KIND_VERDICT for i in analysis.items)
    return round(conf * FUZZY_CONFIDENCE_FACTOR if verdict_fuzzy else conf, 3)


class LexiconScorer(Scorer):
    name = "lexicon"

    def analyse(self, text: str | None) -> Analysis:
        return analyse(text)

    def score(self, text: str) -> ScoreResult:
        analysis = analyse(text)
        confidence = _confidence(analysis)
        return ScoreResult(
            label=analysis.verdict.label, score=analysis.verdict.score, confidence=confidence,
            problems=analysis.problems, urgent="safety" in analysis.problems,
            reasons=analysis.reasons(), method=METHOD_LEXICON,
            needs_review=confidence < REVIEW_CONFIDENCE,
            extra={"basis": analysis.verdict.basis, "explicit": analysis.explicit_verdict,
                   "softened": analysis.verdict.softened, "retracts_dtmf": analysis.retracts_dtmf,
                   "unknown_markers": analysis.unknown_markers},
        )
