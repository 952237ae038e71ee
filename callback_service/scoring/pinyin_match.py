"""Pinyin-tolerant repair of ASR homophones before the lexicon rules run.

Whisper writes 满意 as 慢意, 漫意, 满一 or 买一, 回执 as 回值, and 不满意 as 步满意. Each key term is
matched on toneless, accent-folded pinyin (zh/z, ch/c, sh/s, l/n and -ng/-n merged); a term may allow
a small edit distance on syllable finals (买 mai for 满 man). Matching spans are rewritten to the
canonical characters so the char-level rules, negation included, see one spelling.

Why negation is safe: a repaired span covers only the term's own characters, so a 不 in front stays
in front (不慢意 -> 不满意). A homophone of 不 directly before a repaired 满意 (步/布/部) is itself
restored to 不, unless it belongs to a real word (全部满意 stays positive). Nothing here ever removes
or rewrites an existing 不/没.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

# (canonical term, allowed edits on finals). Kept small: every fuzzy term is a false-positive risk.
TERMS: tuple[tuple[str, int], ...] = (("满意", 1), ("回执", 0), ("反馈", 0))

# Real two-char words that overlap the edge of a candidate span: 买一个, 满以为, 慢一点, 全部满意...
_PROTECTED_EDGES = frozenset((
    "一个", "一点", "一些", "一下", "一次", "一天", "一年", "一周", "一月", "一会", "一遍", "一趟", "一样", "一直",
    "一定", "一共", "一起", "一切", "一般", "一张", "一万", "一千", "一百", "一套", "一部", "一台", "一件", "一辆",
    "一位", "一名", "一份", "一家", "一只", "一口", "一声", "一句", "一半", "以为", "以后", "以前", "以上", "以下",
    "以来", "已经", "意思", "意见", "意外", "义务", "医院", "衣服", "议论", "全部", "大部", "局部", "内部", "干部",
    "一步", "进步", "脚步", "跑步", "散步", "分布", "公布", "宣布", "发布", "会是",
))
_PROTECTED_SPANS = frozenset(["毛衣", "蚂蚁", "卖艺", "买衣", "麻衣", "马衣", "会是", "回事", "回去"])
_NEGATOR_HOMOPHONES = frozenset("步布部卜簿")
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
             "r", "z", "c", "s", "y", "w")
_FOLD_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "l": "n"}


@dataclass(frozen=True)
class Substitution:
    original: str
    canonical: str
    position: int
    exact_pinyin: bool      # homophone (same folded pinyin) rather than a near-sound

    def reason(self) -> str:
        kind = "pinyin" if self.exact_pinyin else "pinyin~"
        return f"{self.original}→{self.canonical} ({kind})"


@dataclass(frozen=True)
class Canonical:
    text: str
    substitutions: tuple[Substitution, ...]

    @property
    def fuzzy(self) -> bool:
        return any(not s.exact_pinyin for s in self.substitutions)


@lru_cache(maxsize=4096)
def fold(syllable: str) -> tuple[str, str]:
    """Split a toneless syllable into (initial, final) with the accent mergers applied."""
    initial = next((i for i in _INITIALS if syllable.startswith(i)), "")
    final = syllable[len(initial):]
    if final.endswith("ng"):
        final = final[:-1]
    return _FOLD_INITIAL.get(initial, initial), final


def _no_pinyin(chunk: str) -> Any:
    return [""] * len(chunk)  # one empty slot per non-hanzi char keeps the output aligned


def syllables(text: str) -> list[str | None]:
    """One toneless syllable per character; None for anything that is not a hanzi."""
    out = lazy_pinyin(text, style=Style.NORMAL, errors=_no_pinyin)
    if len(out) != len(text):  # pypinyin merged something: fall back to char by char
        out = [(lazy_pinyin(ch, style=Style.NORMAL, errors=_no_pinyin) or [""])[0] for ch in text]
    return [s if s and s.isalpha() and s.isascii() and "\u4e00" <= ch <= "\u9fff" else None
            for ch, s in zip(text, out)]


def _edits(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def distance(found: list[str | None], wanted: list[str]) -> int | None:
    """Edits on finals between two syllable runs; None when an initial differs or a char is no hanzi."""
    total = 0
    for got, want in zip(found, wanted, strict=True):
        if got is None:
            return None
        (gi, gf), (wi, wf) = fold(got), fold(want)
        if gi != wi:
            return None
        total += _edits(gf, wf)
    return total


def _protected(text: str, start: int, end: int) -> bool:
    if text[start:end] in _PROTECTED_SPANS:
        return True
    before = text[start - 1:start + 1] if start > 0 else ""
    after = text[end - 1:end + 1] if end < len(text) else ""
    return before in _PROTECTED_EDGES or after in _PROTECTED_EDGES


def _match_at(chars: list[str], syls: list[str | None], start: int, term: str, edits: int,
              wanted: list[str]) -> Substitution | None:
    end = start + len(term)
    found = "".join(chars[start:end])
    if found == term:
        return None
    dist = distance(syls[start:end], wanted)
    if dist is None or dist > edits:
        return None
    # A near-sound must keep at least one syllable intact, or 满意 would match any "ma* yi".
    if dist and not any(fold(g) == fold(w) for g, w in zip(syls[start:end], wanted) if g):
        return None
    if _protected("".join(chars), start, end):
        return None
    return Substitution(found, term, start, dist == 0)


def _repair_terms(chars: list[str], syls: list[str | None]) -> list[Substitution]:
    subs: list[Substitution] = []
    locked = [False] * len(chars)
    for term, edits in TERMS:
        wanted = [s or "" for s in syllables(term)]
        for start in range(len(chars) - len(term) + 1):
            end = start + len(term)
            if any(locked[start:end]):
                continue
            sub = _match_at(chars, syls, start, term, edits, wanted)
            if sub is None:
                continue
            chars[start:end] = list(term)
            locked[start:end] = [True] * len(term)
            subs.append(sub)
    return subs


def _restore_negators(chars: list[str], subs: list[Substitution]) -> list[Substitution]:
    """步满意 / 布慢意 -> 不满意; checked on the repaired stream so 不 is never lost."""
    restored: list[Substitution] = []
    text = "".join(chars)
    for pos in [i for i in range(1, len(chars)) if text.startswith("满意", i)]:
        ch = chars[pos - 1]
        if ch in _NEGATOR_HOMOPHONES and not _protected(text, pos - 1, pos):
            chars[pos - 1] = "不"
            restored.append(Substitution(ch, "不", pos - 1, True))
    return subs + restored


def canonicalize(text: str) -> Canonical:
    """Rewrite ASR homophones of the key terms; the result has the same length as the input."""
    chars = list(text)
    syls = syllables(text)
    subs = _restore_negators(chars, _repair_terms(chars, syls))
    return Canonical("".join(chars), tuple(sorted(subs, key=lambda s: s.position)))
