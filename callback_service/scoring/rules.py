"""Turn clauses into evidence items: verdicts, praise, complaints and no-opinion markers.

Negation is read backwards from each term over the negators and degree words in front of it, so
不满意 flips, 没什么不满意 flips twice (satisfied), and 不太满意 stays a (softened) negation. The same
reading runs on the repaired (pinyin-canonical) text, so 不慢意 is unsatisfied, never satisfied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callback_service.scoring import lexicon_terms as T
from callback_service.scoring.clauses import Clause

KIND_VERDICT = "verdict"
KIND_POS = "pos"
KIND_NEG = "neg"
KIND_UNKNOWN = "unknown"

_NEGATORS = tuple(sorted(T.NEGATORS, key=len, reverse=True))
_DEGREE = tuple(sorted(set(T.DEGREE_WORDS) | {"好"}, key=len, reverse=True))
_LIMITERS = tuple(sorted(T.LIMITERS, key=len, reverse=True))
_INTENSIFIERS = tuple(sorted(T.INTENSIFIERS, key=len, reverse=True))
_MILD = tuple(sorted(T.MILD_INTENSIFIERS, key=len, reverse=True))


@dataclass(frozen=True)
class Item:
    kind: str               # verdict | pos | neg | unknown
    value: str              # verdict label, or problem code for complaints that carry one
    phrase: str
    clause: Clause
    position: int = 0       # offset of the phrase in its clause
    intensity: int = 0      # 0 plain, 1 mild (很/挺), 2 strong (非常/特别)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def reason(self) -> str:
        tag = self.value if self.kind == KIND_VERDICT and self.value else self.kind
        note = f" ({', '.join(self.notes)})" if self.notes else ""
        return f"{tag}:{self.phrase}{note}"


def _term_table() -> dict[str, str]:
    table: dict[str, str] = {}
    groups = ((T.NEGATED_ONLY, "negonly"), (T.NEGATIVES, "neg"), (T.POSITIVES, "pos"),
              (T.STRONG_NEGATIVES, "strong"), (T.HEDGES, "hedge"), (T.UNKNOWN_MARKERS, "unknown"),
              (T.NEUTRAL, "neutral"), ((T.SATISFIED_WORD,), "satisfied"))
    for words, kind in groups:
        table.update(dict.fromkeys(words, kind))
    return table


_TABLE = _term_table()
_PATTERN_KEYS = {f"p{i}": key for i, key in enumerate(T.TERM_PATTERNS)}


def _alternative(term: str) -> str:
    group = next((g for g, key in _PATTERN_KEYS.items() if key == term), None)
    return f"(?P<{group}>{T.TERM_PATTERNS[term]})" if group else re.escape(term)


_TERMS = re.compile("|".join(_alternative(t) for t in sorted(_TABLE, key=len, reverse=True)))


def _term_of(m: re.Match[str]) -> str:
    return _PATTERN_KEYS[m.lastgroup] if m.lastgroup else m.group()


@dataclass
class _Prefix:
    negations: int = 0
    limiter: bool = False
    intensity: int = 0
    softened: bool = False   # a degree word sits inside the negation: 不太满意, 不是很满意
    consumed: int = 0        # how many chars in front of the term were read


_PREFIX_WORDS = tuple(sorted(
    {w: None for group in (_NEGATORS, _LIMITERS, _INTENSIFIERS, _MILD, _DEGREE) for w in group},
    key=len, reverse=True,
))


def read_prefix(prefix: str) -> _Prefix:
    """Walk backwards over negators, limiters and degree words directly in front of a term.

    The longest word wins at each step, so 特别 is a degree word, not the negator 别.
    """
    out = _Prefix()
    degree_inside = False
    for _ in range(8):
        word = next((w for w in _PREFIX_WORDS if prefix.endswith(w)), None)
        if word is None:
            break
        if word in _NEGATORS:
            out.negations += 1
        elif word in _LIMITERS:
            out.limiter = out.limiter or out.negations == 0
        elif word in _INTENSIFIERS:
            out.intensity = 2
            degree_inside = degree_inside or out.negations == 0
        else:
            out.intensity = max(out.intensity, 1 if word in _MILD else 0)
            degree_inside = degree_inside or (out.negations == 0 and word in _MILD + ("太", "怎么", "那么"))
        prefix = prefix[: -len(word)]
        out.consumed += len(word)
    out.softened = degree_inside and out.negations % 2 == 1
    return out


def _rhetorical(clause: Clause, start: int, end: int) -> bool:
    before, after = clause.text[:start], clause.text[end:]
    if after.startswith(T.RHETORICAL_AFTER) or before.endswith(T.RHETORICAL_BEFORE):
        return True
    asks = clause.question or after.startswith(("吗", "呢", "吧？"))
    return asks and before.endswith(T.RHETORICAL_QUESTION_BEFORE)


def _satisfied_item(clause: Clause, m: re.Match[str]) -> Item | None:
    if _rhetorical(clause, m.start(), m.end()):
        return Item(KIND_VERDICT, T.VERDICT_U, m.group(), clause, m.start(), 1, ("rhetorical",))
    if clause.text[m.end():].startswith("吗"):
        return None  # the citizen repeating the question
    p = read_prefix(clause.text[: m.start()])
    phrase = clause.text[m.start() - p.consumed: m.end()]
    notes: tuple[str, ...]
    if p.negations % 2:
        notes = ("negated", "softened") if p.softened else ("negated",)
        return Item(KIND_VERDICT, T.VERDICT_U, phrase, clause, m.start(), 0 if p.softened else 2, notes)
    notes = ("double negation",) if p.negations else ()
    label = T.VERDICT_B if p.limiter else T.VERDICT_S
    return Item(KIND_VERDICT, label, phrase, clause, m.start(), p.intensity, notes)


_TRAILING_NEGATION = ("都没有", "也没有", "都没", "也没")


def _polar_item(clause: Clause, m: re.Match[str], kind: str) -> Item | None:
    p = read_prefix(clause.text[: m.start()])
    # 一点耐心都没有: the negation follows the term.
    trailing = clause.text[m.end():].startswith(_TRAILING_NEGATION)
    flipped = (p.negations + trailing) % 2 == 1
    if kind == "negonly":
        if not flipped:
            return None
        return Item(KIND_NEG, "", clause.text[m.start() - p.consumed: m.end()], clause, m.start(),
                    p.intensity, ("negated",))
    positive = (kind == "pos") != flipped
    notes = ("negated",) if flipped else ()
    phrase = clause.text[m.start() - p.consumed: m.end()] if flipped else m.group()
    if kind == "strong" and not flipped:
        return Item(KIND_VERDICT, T.VERDICT_U, phrase, clause, m.start(), 2, ("strong",))
    return Item(KIND_POS if positive else KIND_NEG, "", phrase, clause, m.start(), p.intensity, notes)


def _item_for(clause: Clause, m: re.Match[str]) -> Item | None:
    kind = _TABLE[_term_of(m)]
    if kind == "neutral":
        return None
    if kind == "satisfied":
        return _satisfied_item(clause, m)
    if kind == "hedge":
        return Item(KIND_VERDICT, T.VERDICT_B, m.group(), clause, m.start(), 0, ("hedge",))
    if kind == "unknown":
        return Item(KIND_UNKNOWN, "", m.group(), clause, m.start())
    return _polar_item(clause, m, kind)


def term_items(clauses: list[Clause]) -> list[Item]:
    items: list[Item] = []
    for clause in clauses:
        for m in _TERMS.finditer(clause.text):
            item = _item_for(clause, m)
            if item is not None:
                items.append(item)
    return items
