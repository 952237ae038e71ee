"""One answer's final score from its DTMF key and its transcript, and the lexicon/model policy.

DTMF against speech (``score_answer``):
* The key (1 满意, 2 基本满意, 3 不满意) is the strongest signal: it sets the label, method ``dtmf``.
* Speech only ever lowers it, by one step at most: 1 plus any complaint or handling problem
  (没人给我反馈) -> basically satisfied + the problem codes. 2 plus a plain 不满意 -> unsatisfied
  (a gentle 说不上特别满意 leaves 2 alone).
* Opposite explicit verdicts (1 but 不满意, 3 but 很满意) set ``conflict`` and ``needs_review``;
  the label is then the cautious one (1 -> basically satisfied, 3 stays unsatisfied).
* Problem codes and ``urgent`` always come from speech, whatever the key.
* No key (or an invalid one): the speech result alone, method ``lexicon`` or ``model``. So too when
  the citizen retracts the key (刚才按错了，我是满意的).

Lexicon and model together (``score_text``):
* The lexicon decides whenever it recognised anything: a verdict (满意/不满意/hedges and their
  negations), praise, a complaint, a problem or safety cue, a no-opinion marker (wrong person,
  driving), or silence. Phrase
  evidence is auditable and handles negation and homophones by construction; a few hundred
  labelled answers do not train a model that beats it there. A model that disagrees with
  probability >= ``MODEL_EXPLICIT_CONFIDENCE`` sets ``needs_review``.
* The model decides the answers the lexicon could not read at all (no term matched), when its
  probability is at least ``MODEL_MIN_CONFIDENCE``; below that the lexicon's low-confidence
  ``unknown`` stands and goes to review.
* Problem codes and ``urgent`` always come from the lexicon (see transformers_scorer.py), and a
  satisfied label with a handling problem becomes basically satisfied, as for DTMF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from callback_service.contracts import L_BASICALLY_SATISFIED, L_SATISFIED, L_UNKNOWN, L_UNSATISFIED
from callback_service.scoring.base import (
    METHOD_DTMF,
    METHOD_LEXICON,
    METHOD_MODEL,
    REVIEW_CONFIDENCE,
    Scorer,
    ScoreResult,
)
from callback_service.scoring.lexicon import LexiconScorer

DTMF_LABELS = {"1": L_SATISFIED, "2": L_BASICALLY_SATISFIED, "3": L_UNSATISFIED}
_DTMF_SCORES = {L_SATISFIED: 95, L_BASICALLY_SATISFIED: 70, L_UNSATISFIED: 15}
MODEL_MIN_CONFIDENCE = 0.6
# A model result this sure counts as an explicit verdict when weighed against a DTMF key.
MODEL_EXPLICIT_CONFIDENCE = 0.8

_DEFAULT_SCORERS: tuple[Scorer, ...] = (LexiconScorer(),)


def parse_dtmf(dtmf: str | None) -> str | None:
    """The label for the first meaningful key ('1#' -> satisfied); None for no key or another key."""
    for key in (dtmf or "").strip():
        if key in DTMF_LABELS:
            return DTMF_LABELS[key]
    return None


def _handling_problems(result: ScoreResult) -> bool:
    return any(code != "safety" for code in result.problems)


def _explicit(result: ScoreResult) -> bool:
    if result.method == METHOD_MODEL:
        return result.confidence >= MODEL_EXPLICIT_CONFIDENCE
    return bool(result.extra.get("explicit", False))


def _with_problem_rule(result: ScoreResult) -> ScoreResult:
    if result.label == L_SATISFIED and _handling_problems(result):
        return replace(result, label=L_BASICALLY_SATISFIED, score=min(result.score, 75),
                       reasons=result.reasons + ("satisfied+problem→basically_satisfied",))
    return result


def _lexicon_heard_something(lexicon: ScoreResult) -> bool:
    """Any verdict, praise, complaint, problem or safety cue, no-opinion marker, or silence."""
    return lexicon.extra.get("basis", "none") != "none" or lexicon.confidence >= 0.8 or bool(lexicon.problems)


def _merge(lexicon: ScoreResult, model: ScoreResult) -> ScoreResult:
    model_note = f"model:{model.label} ({model.confidence:.2f})"
    agree = model.label == lexicon.label
    if _lexicon_heard_something(lexicon) or model.confidence < MODEL_MIN_CONFIDENCE:
        confident_dissent = not agree and model.confidence >= MODEL_EXPLICIT_CONFIDENCE
        confidence = min(1.0, lexicon.confidence + 0.05) if agree else lexicon.confidence
        return replace(lexicon, confidence=round(confidence, 3), reasons=lexicon.reasons + (model_note,),
                       needs_review=lexicon.needs_review or confident_dissent)
    merged = replace(lexicon, label=model.label, score=model.score, confidence=model.confidence,
                     method=METHOD_MODEL, needs_review=model.confidence < REVIEW_CONFIDENCE,
                     reasons=(model_note,) + lexicon.reasons)
    return _with_problem_rule(merged)


def score_text(text: str | None, scorers: Sequence[Scorer] = _DEFAULT_SCORERS) -> ScoreResult | None:
    """The speech verdict from one or two scorers (lexicon first), or None for no usable speech."""
    if not text or not text.strip() or not scorers:
        return None
    results = [s.score(text) for s in scorers]
    lexicon = next((r for r in results if r.method == METHOD_LEXICON), None)
    model = next((r for r in results if r.method == METHOD_MODEL), None)
    if lexicon is not None and model is not None:
        return _merge(lexicon, model)
    return results[0]


def _dtmf_only(label: str, key: str, speech: ScoreResult | None) -> ScoreResult:
    problems = speech.problems if speech else ()
    reasons = (f"dtmf:{key}",) + (speech.reasons if speech else ())
    return ScoreResult(label=label, score=_DTMF_SCORES[label], confidence=0.95, problems=problems,
                       urgent=bool(speech and speech.urgent), reasons=reasons, method=METHOD_DTMF)


def _refine(label: str, key: str, speech: ScoreResult) -> ScoreResult:
    base = _dtmf_only(label, key, speech)
    said = speech.label
    explicit = _explicit(speech)
    note = f"speech:{said}"
    if label == L_SATISFIED and said == L_UNSATISFIED and explicit:
        return replace(base, label=L_BASICALLY_SATISFIED, score=60, confidence=0.5, conflict=True,
                       needs_review=True, reasons=base.reasons + (note, "conflict:dtmf 1 vs speech"))
    if label == L_UNSATISFIED and said == L_SATISFIED and explicit and not _handling_problems(speech):
        return replace(base, confidence=0.5, conflict=True, needs_review=True,
                       reasons=base.reasons + (note, "conflict:dtmf 3 vs speech"))
    if label == L_SATISFIED and (said in (L_BASICALLY_SATISFIED, L_UNSATISFIED) or _handling_problems(speech)):
        return replace(base, label=L_BASICALLY_SATISFIED, score=75, confidence=0.85,
                       reasons=base.reasons + (note, "refined:dtmf 1 with complaint"))
    if label == L_BASICALLY_SATISFIED and said == L_UNSATISFIED and explicit and not speech.extra.get("softened"):
        return replace(base, label=L_UNSATISFIED, score=30, confidence=0.85,
                       reasons=base.reasons + (note, "refined:dtmf 2 with 不满意"))
    agree = said == label
    return replace(base, confidence=0.98 if agree else 0.95, reasons=base.reasons + (note,))


def score_answer(dtmf: str | None, text: str | None,
                 scorers: Sequence[Scorer] = _DEFAULT_SCORERS) -> ScoreResult:
    """Score one answer from its DTMF key and/or transcript (the policy in the module docstring)."""
    speech = score_text(text, scorers)
    label = parse_dtmf(dtmf)
    if label is not None and speech is not None and speech.extra.get("retracts_dtmf"):
        # "刚才按错了，我是满意的": the spoken correction replaces the key.
        retracted = (f"dtmf:{dtmf} retracted (按错)",)
        return replace(_with_problem_rule(speech), reasons=retracted + speech.reasons)
    if label is not None:
        key = next(k for k in (dtmf or "") if k in DTMF_LABELS)
        if speech is None or speech.label == L_UNKNOWN:
            return _dtmf_only(label, key, speech)
        return _refine(label, key, speech)
    if speech is not None:
        return _with_problem_rule(speech) if speech.method == METHOD_MODEL else speech
    ignored = (f"dtmf:{dtmf} ignored",) if dtmf else ()
    return ScoreResult(label=L_UNKNOWN, score=50, confidence=0.9 if not dtmf else 0.5,
                       reasons=ignored + ("no answer",), method=METHOD_DTMF if dtmf else METHOD_LEXICON,
                       needs_review=bool(dtmf))
