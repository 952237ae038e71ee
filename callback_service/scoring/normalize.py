"""Text clean-up shared by every scorer: width, script, and Whisper's silence hallucinations.

Whisper sometimes answers silence or line noise with subtitle credits it saw in training
("字幕由Amara.org社区提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "谢谢观看"). Those would
otherwise read as praise ("点赞", "谢谢"), so any clause that carries such a marker is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

_HALLUCINATION = re.compile(
    r"字幕|订阅|转发|明镜|栏目|amara|观看|收看|打赏|请不吝|www\.|\.com|\.org",
    re.IGNORECASE,
)
# No ASCII full stop here: it would cut "amara.org" in two and leave half a credit behind.
_CLAUSE_SPLIT = re.compile(r"([，。！？；、,!?;\s…~～]+)")
_FILLER_ONLY = re.compile(r"^[\s，。！？；、,.!?;…~～嗯啊呃哦噢唔哎诶欸喂额呀吧呢哈]*$")


@dataclass(frozen=True)
class CleanText:
    text: str                   # simplified, NFKC, lower-case, hallucination clauses removed
    dropped: tuple[str, ...]    # the clauses dropped as hallucinations

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    @property
    def filler_only(self) -> bool:
        return bool(_FILLER_ONLY.match(self.text))


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def clean(text: str | None) -> CleanText:
    """Normalise one transcript; never raises on odd input (None and empty give an empty text)."""
    if not text:
        return CleanText("", ())
    simple = _t2s().convert(unicodedata.normalize("NFKC", text)).lower()
    parts = _CLAUSE_SPLIT.split(simple)
    kept: list[str] = []
    dropped: list[str] = []
    for part in parts:
        if _HALLUCINATION.search(part):
            dropped.append(part)
        else:
            kept.append(part)
    return CleanText("".join(kept).strip(), tuple(dropped))
