"""Problem-code detection: which failings of the police handling an answer complains about.

Each code has phrase patterns run on every clause of the repaired (pinyin-canonical) text, so
回值没给我 is found as 回执没给我. Most patterns carry their own negation (没给回执, 不予受理); the
bare ones (慢, 拖, 骚扰) are dropped when negated (不慢, 没拖, 不再骚扰) and then count as praise.
Positive mentions of a topic (回执当时就给我了, 当场就给立案了) match nothing.
Safety cues are about the citizen's person, not the police: they set ``urgent`` but are not
complaints about the handling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callback_service.scoring import lexicon_terms as T
from callback_service.scoring.clauses import MASK, Clause
from callback_service.scoring.rules import read_prefix

_NUM = r"[一二两三四五六七八九十几半\d]+"
WEAK_NOT_ACCEPTED = "not_accepted?"
_RECEIPT = r"(?:回执|凭证|回单|单子|收据|条子)"

# (code, pattern, negatable): negatable patterns have no negator of their own.
_PATTERNS: tuple[tuple[str, str, bool], ...] = (
    ("no_receipt", r"(?:没|没有|未|不)[^□]{0,8}?" + _RECEIPT, False),
    ("no_receipt", _RECEIPT + r"[^□]{0,10}?(?:没|没有|未|不给|不开|不用)", False),
    ("not_accepted", r"(?:不|没|没有|没人|没有人)(?:给|予|让|肯|愿意|想|太愿意|太想|给我)?"
     r"(?:受理|登记)", False),
    ("not_accepted", r"不(?:给|让|肯|准)(?:我)?报(?:案|警)?|不接(?:我的)?(?:报案|警|案)"
     r"|不(?:太)?(?:愿意|肯|想)接", False),
    ("not_accepted", r"不(?:归|属于)(?:他们|我们|你们|这里|这边|派出所)?管"
     r"|不是(?:他们|我们|这里|这边)?的?辖区", False),
    ("not_accepted", r"(?:不|都不|也不)管(?!怎么|如何|是|什么)", False),
    # 没人管 alone is a refusal; next to a delay (拖了半个月都没人管) it is the delay: see _resolve.
    (WEAK_NOT_ACCEPTED, r"(?:没人|没有人)管", False),
    ("not_accepted", r"推来推去|推诿|踢皮球|互相推|(?:别的|其他)(?:派出所|地方|部门)"
     r"|找(?:居委会|社区|街道|法院)|打110|办不了", False),
    ("not_filed", r"(?:不|没|没有|未|不予|不肯)(?:给)?(?:我)?立(?:案)?(?![刻即马功足场])", False),
    ("not_filed", r"立不了|案子?(?:一直|也|还|都)?(?:没|没有|不)(?:给)?立|(?:够不上|不够|达不到)立案"
     r"|民事纠纷|(?:就|只)(?:给我)?调解|应该立案", False),
    ("attitude", r"态度[^□]{0,4}?(?:差|不好|不太好|不怎么样|恶劣|生硬|冷淡|冷漠|横|凶|一般|不行"
     r"|有问题|差点意思)", False),
    ("attitude", r"不(?:太|怎么|是很|大)?耐烦|爱答不理|爱搭不理|爱理不理|不理人|不理我|理都不理|不搭理", False),
    ("attitude", r"大呼小叫|阴阳怪气|冷冰冰|冷漠|敷衍|玩手机|摆架子|小题大做|无理取闹|没礼貌|不礼貌"
     r"|不热情|甩脸色", True),
    ("attitude", r"(?:耐心|礼貌|好脸色?)(?:都|也)(?:没有|没)", False),
    ("attitude", r"吼|骂|训我|凶(?!手|器|案)|难听|说话(?:很|太|有点|特别)?冲|嫌(?:我)?麻烦|不客气", True),
    ("slow", r"慢(?!慢|意)|拖|磨蹭|磨叽|慢吞吞|迟迟|效率(?:很|太|有点|比较|也|还)?(?:低|不高|差)", True),
    ("slow", r"等(?:了|得)?(?:(?:有点|很|太|挺|比较|特别|好|这么|那么)?久|半天|一上午|一下午|一整天|好几个小时|" + _NUM
     + r"个?多?(?:小时|钟头|天|星期|周|月))|等的时间|时间(?:确实|有点|太|很|比较)?(?:长|久)", True),
    ("slow", r"晚了|太晚|来得晚|迟到", True),
    ("slow", r"(?:半天|好久|一直)(?:都|也)?没(?:人)?(?:来|处理|管|动静)|没(?:人)?处理|才(?:有人)?(?:来|到)", False),
    ("slow", r"(?:还|也|都)(?:没|没有)(?:处理|办|结果|解决|动静)|没(?:个)?结果|什么时候(?:处理|解决|办|能)", False),
    ("slow", r"(?:快|都|已经|拖了|过了)?" + _NUM + r"多?个?多?(?:月|星期|礼拜|年)多?了", False),
    ("no_feedback", r"(?:没|没有|没人|没有人|不)(?:人)?(?:给我|跟我|和我|向我|给|跟)?[^□]{0,4}?"
     r"(?:反馈|回复|回音|音信|消息|下文|通知|联系|回电话|回个电话|打电话|说一声|告诉)", False),
    ("no_feedback", r"(?:反馈|回复|回音|音信|音讯|消息|下文|通知|进展|进度|情况)[^□]{0,8}?"
     r"(?:没|没有|不知道|不清楚)", False),
    ("no_feedback", r"结果[^□]{0,8}?(?:不知道|不清楚)", False),
    ("no_feedback", r"石沉大海|杳无音信|音信全无|没人跟我说|没跟我说|没人和我说|不接电话"
     r"|电话(?:也|都)?打不通", False),
    ("no_feedback", r"等[^□]{0,6}?(?:电话|通知|消息|回复)[^□]{0,4}?没", False),
    ("no_feedback", r"(?:打电话|问)[^□]{0,4}?没人(?:理|接|管)", False),
    ("no_feedback", r"不知道(?:进展|结果|处理得?怎么样|怎么样了|办得怎么样)"
     r"|希望[^□]{0,10}?(?:告诉|通知|反馈|回复)", False),
    ("safety", r"威胁|恐吓|报复|扬言|弄死|杀了?我|要杀|找人(?:打|收拾|弄|砍)|收拾我|堵我|跟踪|骚扰", True),
    ("safety", r"害怕|不敢回(?:家|去)|躲着|人身安全|救命|家暴|砍我|拿刀|打我(?!电话|手机)|又打|揍我", True),
    ("safety", r"(?:他|她|那人|那个人|对方|那家伙)[^□]{0,3}又来|又来找我|来我家|在我家门口", True),
)
_COMPILED = tuple((code, re.compile(pattern), negatable) for code, pattern, negatable in _PATTERNS)
_MASKS = re.compile("|".join(re.escape(p) for p in sorted(T.PROBLEM_MASKS, key=len, reverse=True)))


@dataclass(frozen=True)
class ProblemHit:
    code: str
    phrase: str
    clause: Clause
    position: int
    negated: bool       # a bare cue under negation (不慢): no problem, counts as praise instead


def masked(text: str) -> str:
    """Blank out fixed phrases whose 没/不 is not a complaint (没问题, 没意见, 不错)."""
    return _MASKS.sub(lambda m: MASK * len(m.group()), text)


def _hits_in(clause: Clause) -> list[ProblemHit]:
    text = masked(clause.text)
    hits: list[ProblemHit] = []
    for code, pattern, negatable in _COMPILED:
        for m in pattern.finditer(text):
            negated = negatable and read_prefix(text[: m.start()]).negations % 2 == 1
            hits.append(ProblemHit(code, m.group(), clause, m.start(), negated))
    return hits


def _resolve(hits: list[ProblemHit]) -> list[ProblemHit]:
    """Settle ambiguous cues against the other cues of the same clause."""
    slow = any(h.code == "slow" and not h.negated for h in hits)
    feedback = any(h.code == "no_feedback" for h in hits)
    out = []
    for hit in hits:
        if hit.code == WEAK_NOT_ACCEPTED:
            if slow or feedback:
                continue
            hit = ProblemHit("not_accepted", hit.phrase, hit.clause, hit.position, hit.negated)
        out.append(hit)
    return out


def detect(clauses: list[Clause]) -> list[ProblemHit]:
    """All problem cues in the answer, in order, one per (code, clause) unless negated."""
    hits: list[ProblemHit] = []
    seen: set[tuple[str, int]] = set()
    for clause in clauses:
        for hit in _resolve(_hits_in(clause)):
            key = (hit.code, clause.index)
            if hit.negated:
                hits.append(hit)
            elif key not in seen:
                hits.append(hit)
                seen.add(key)
    return hits
