"""From evidence items to one label, score and confidence: the lexicon's decision rules.

1. An explicit verdict (满意 and its negations, limiters and hedges) wins. Among several, the one in
   the latest contrast stage wins (态度倒是挺好，但是我还是不满意 -> unsatisfied); concessions
   (虽然...) never do.
   A softened negation (不太满意, 说不上特别满意) right after a hedge in the same stage only
   qualifies the hedge: 还可以，说不上特别满意 -> basically satisfied.
2. A satisfied verdict followed, in its own or a later stage, by a complaint becomes basically
   satisfied (满意是满意，就是太慢了). A complaint in an earlier stage is overridden by it
   (有点慢，但是总的来说很满意 -> satisfied).
3. Strong negatives (失望, 差劲, 投诉) are a verdict only when no explicit verdict was said.
4. Without a verdict: praise only -> satisfied, complaints only -> unsatisfied, both -> basically
   satisfied (态度挺好，就是一直没给我反馈).
5. No evidence at all -> unknown (wrong person, driving, noise, silence).
Safety cues never move the label: they set ``urgent`` instead (see problems.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNKNOWN, L_UNSATISFIED
from callback_service.scoring.problems import ProblemHit
from callback_service.scoring.rules import KIND_NEG, KIND_POS, KIND_UNKNOWN, KIND_VERDICT, Item


@dataclass(frozen=True)
class Verdict:
    label: str
    score: int
    confidence: float
    basis: str           # explicit | downgraded | strong | mixed | implicit | none
    softened: bool = False  # an unsatisfied verdict said gently (不太满意): weaker against a DTMF key


@dataclass(frozen=True)
class _Evidence:
    stage: int
    concession: bool


def _complaints(items: Sequence[Item], hits: Sequence[ProblemHit]) -> list[_Evidence]:
    out = [_Evidence(i.clause.stage, i.clause.concession) for i in items if i.kind == KIND_NEG]
    out += [_Evidence(h.clause.stage, h.clause.concession) for h in hits
            if not h.negated and h.code != "safety"]
    return out


def _praise_count(items: Sequence[Item], hits: Sequence[ProblemHit]) -> int:
    return sum(i.kind == KIND_POS for i in items) + sum(h.negated and h.code != "safety" for h in hits)


def _final_verdict(verdicts: list[Item]) -> Item:
    active = [v for v in verdicts if not v.clause.concession] or verdicts
    top = max(v.clause.stage for v in active)
    return [v for v in active if v.clause.stage == top][-1]


def _qualified_hedge(final: Item, verdicts: list[Item]) -> bool:
    """还可以，说不上特别满意: a softened negation after a hedge qualifies it, it does not overturn it."""
    return "softened" in final.notes and any(
        v.value == L_BASICALLY_SATISFIED and v.clause.stage == final.clause.stage for v in verdicts
    )


def _explicit(verdicts: list[Item], complaints: list[_Evidence]) -> Verdict:
    final = _final_verdict(verdicts)
    wavering = len({v.value for v in verdicts}) > 1
    penalty = 0.1 if wavering else 0.0
    if final.value == L_SATISFIED:
        later = [c for c in complaints if c.stage >= final.clause.stage and not c.concession]
        if later:
            return Verdict(L_BASICALLY_SATISFIED, 75, 0.75 - penalty, "downgraded")
        return Verdict(L_SATISFIED, (90, 95, 98)[final.intensity], 0.9 - penalty, "explicit")
    if final.value == L_BASICALLY_SATISFIED or _qualified_hedge(final, verdicts):
        return Verdict(L_BASICALLY_SATISFIED, 70, 0.85 - penalty, "explicit")
    softened = "softened" in final.notes
    score = 15 if "rhetorical" in final.notes else (25 if softened else 10)
    return Verdict(L_UNSATISFIED, score, 0.9 - penalty, "explicit", softened)


def _implicit(praise: int, complaints: int) -> Verdict:
    if praise and complaints:
        return Verdict(L_BASICALLY_SATISFIED, 65, 0.6, "mixed")
    n = min(max(praise, complaints), 3)
    confidence = round(0.65 + 0.07 * n, 2)
    if praise:
        return Verdict(L_SATISFIED, 85 + 3 * n, confidence, "implicit")
    return Verdict(L_UNSATISFIED, 30 - 5 * n, confidence, "implicit")


def decide(items: Sequence[Item], hits: Sequence[ProblemHit], *, said_nothing: bool) -> Verdict:
    """Apply the rules in the module docstring. ``said_nothing``: empty, filler or hallucination only."""
    complaints = _complaints(items, hits)
    verdicts = [i for i in items if i.kind == KIND_VERDICT and "strong" not in i.notes]
    strong = [i for i in items if i.kind == KIND_VERDICT and "strong" in i.notes]
    if verdicts:
        complaints += [_Evidence(i.clause.stage, i.clause.concession) for i in strong]
        return _explicit(verdicts, complaints)
    if strong:
        return Verdict(L_UNSATISFIED, 15, 0.85, "strong")
    praise = _praise_count(items, hits)
    if praise or complaints:
        return _implicit(praise, len(complaints))
    if said_nothing:
        return Verdict(L_UNKNOWN, 50, 0.9, "none")
    markers = any(i.kind == KIND_UNKNOWN for i in items)
    return Verdict(L_UNKNOWN, 50, 0.8 if markers else 0.3, "none")
