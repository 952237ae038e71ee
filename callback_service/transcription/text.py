"""Text clean-up of Whisper output: Simplified script and known hallucinations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from opencc import OpenCC

# Phrases Whisper emits on silence, noise or music because its training subtitles ended with them.
# A segment made only of one of these (after normalisation) is dropped; listed in Simplified.
KNOWN_HALLUCINATIONS = (
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "明镜与点点栏目",
    "请不吝点赞订阅转发打赏",
    "字幕由amaraorg社区提供",
    "amaraorg社区提供",
    "谢谢观看",
    "感谢观看",
    "谢谢大家观看",
    "谢谢收看",
    "感谢收看",
    "谢谢收听",
    "谢谢大家",
    "请订阅",
    "订阅我的频道",
    "点赞订阅",
    "欢迎订阅",
    "字幕志愿者",
    "中文字幕",
    "字幕制作",
    "优优独播剧场",
    "yoyo television series exclusive",
    "本字幕由",
    "下集预告",
    "我们下期再见",
    "下期再见",
)
_HALLUCINATION_PATTERNS = (
    re.compile(r"^(字幕|翻译|校对|时间轴|字幕组|字幕由).{0,20}(提供|制作)"),
    re.compile(r"^(感谢|谢谢).{0,8}(观看|收看|收听)$"),
    re.compile(r"^(请|欢迎).{0,6}(点赞|订阅|转发|打赏)"),
)


class HasText(Protocol):
    @property
    def text(self) -> str: ...


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def _compact(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def is_hallucination(text: str) -> bool:
    """True when a segment's text is one of Whisper's known subtitle-credit hallucinations."""
    compact = _compact(to_simplified(text))
    if not compact:
        return False
    if any(compact == phrase or (len(phrase) >= 6 and phrase in compact) for phrase in KNOWN_HALLUCINATIONS):
        return True
    return any(p.search(compact) for p in _HALLUCINATION_PATTERNS)


_CJK = r"[\u3400-\u9fff]"
_ASCII_PUNCT = re.compile(rf"(?<={_CJK})\s*([,?!;:])\s*|\s*([,?!;:])\s*(?={_CJK})")
_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}
_CJK_SPACE = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")


def clean_segment_text(text: str) -> str:
    """Simplified, Chinese punctuation next to Chinese characters, trimmed; "" when nothing is left.

    Whisper separates Mandarin clauses with ASCII commas or bare spaces; reviewers read full-width.
    """
    text = to_simplified(text).strip()
    text = _ASCII_PUNCT.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], text)
    text = _CJK_SPACE.sub("，", text)
    return text if _compact(text) else ""


def join_segments(segments: Sequence[HasText]) -> str:
    """Segment texts as one transcript, a comma between clauses that lack closing punctuation."""
    text = ""
    for seg in segments:
        if text and unicodedata.category(text[-1])[0] != "P" and re.match(_CJK, seg.text[:1]):
            text += "，"
        text += seg.text
    return text
