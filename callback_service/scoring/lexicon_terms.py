"""The Chinese lexicon: verdict words, hedges, evaluative words, unknown markers, negators, degree words.

Data only; ``rules.py`` applies it. Terms are matched longest first, so a longer fixed phrase
(不好意思, 不好说, 差不多) shadows the shorter word inside it (好, 差).

Labelling conventions the tables encode (the labelled set follows them too):
* 满意 with an intensifier (非常/很/挺/比较...) is satisfied; with a limiter (基本/还算/勉强...) it is
  basically satisfied; any negation of 满意 (不太/不是很/一点都不/谈不上) is unsatisfied.
* Hedges (还行/一般/凑合/马马虎虎) are basically satisfied.
* Strong negatives (失望/差劲/恶劣/投诉) count as an explicit unsatisfied verdict.
"""

from __future__ import annotations

VERDICT_S = "satisfied"
VERDICT_B = "basically_satisfied"
VERDICT_U = "unsatisfied"

# The core verdict word. Its modifiers decide between satisfied and basically satisfied.
SATISFIED_WORD = "满意"

HEDGES = (
    "还行", "还可以", "还算可以", "还算行", "一般般", "一般", "凑合", "还凑合", "马马虎虎", "过得去",
    "说得过去", "就那样", "也就那样", "差不多", "勉强", "还好", "不好不坏", "不好也不坏", "中规中矩",
    "不算满意也不算不满意", "说不上好也说不上坏", "说不上满意也说不上不满意", "还过得去", "凑活",
)

STRONG_NEGATIVES = (
    "失望", "差劲", "太差", "很差", "特别差", "非常差", "恶劣", "不像话", "离谱", "投诉", "垃圾",
    "气死", "气人", "糟糕", "太烂", "寒心", "不满",
)

# Terms matched by a pattern rather than literally: 不满 (discontent) but not the 不满 of 不满意.
TERM_PATTERNS = {
    "不满": "不满(?![意满])",
    "信号不好": "信号(?:不太好|不怎么好|不好|很差|太差|差|不行)",
    "耳朵不好": "耳朵(?:不太好|不好|背)",
    "身体不好": "身体(?:不太好|不好)",
}

POSITIVES = (
    "挺好", "很好", "蛮好", "非常好", "特别好", "真好", "都好", "太好了", "不错", "好评", "负责",
    "耐心", "热情", "热心", "及时", "周到", "专业", "认真", "到位", "给力", "点赞", "点个赞", "谢谢",
    "感谢", "辛苦", "帮了", "帮我", "没毛病", "没问题", "没什么问题", "没啥问题", "没什么大问题",
    "一点问题都没有", "什么问题都没有", "没得说", "没啥说的", "没什么说的", "没什么可挑", "没啥可挑",
    "挑不出", "认可", "效率高", "效率挺高", "效率很高", "效率也高", "很快", "挺快", "又快又好",
    "当场", "当天", "马上就", "找回来", "追回来", "抓到", "解决", "处理好了", "处理完", "办好了",
    "客气", "可以可以", "没意见", "没有意见", "没什么意见", "没啥意见", "没有什么意见", "放心",
    "值得表扬", "表扬", "尽职", "尽心", "高效", "受理", "妥当", "妥善", "周全", "细致", "仔细",
    "利索", "麻利", "靠谱",
)

# Negative evaluations that are not a problem code by themselves.
NEGATIVES = (
    "差", "不行", "不怎么样", "不咋地", "不咋样", "没用", "没什么用", "一点用都没有", "办不好",
    "不靠谱", "糊弄", "这叫什么", "解决不了", "没解决", "白报", "有什么用", "管管", "管一管",
)

# Only counted when negated: bare 好 is too common (好的, 好几次, 好像) to be praise by itself.
NEGATED_ONLY = ("好",)

UNKNOWN_MARKERS = (
    "打错", "错了吧", "不是我", "我不是", "搞错", "找错", "没报过", "没报警", "没有报过", "不记得",
    "记不清", "记不太清", "不清楚", "不了解", "不知道", "说不好", "不好说", "说不上来", "开车", "开会",
    "不方便", "没空", "在忙", "忙着", "听不清", "听不见", "听不到", "信号不好", "耳朵不好", "身体不好",
    "哪里", "哪位", "你是谁", "哪个单位", "骗子", "什么事", "说什么", "再说", "晚点", "回头说",
    "别再打", "别打了", "不用回访", "不想评价", "不评价", "不想说", "无所谓", "挂了", "不是他的",
    "不是她的", "哪个案子", "我老公", "我老婆", "我爱人", "我儿子", "我女儿", "喂",
)

# Fixed phrases that contain a negator or an evaluative char but carry no opinion.
NEUTRAL = ("不好意思", "不管怎么样", "不管如何", "没关系", "没事")

# Phrases masked out before problem detection: their 没/不 must not read as a complaint.
PROBLEM_MASKS = (
    "没问题", "没什么问题", "没啥问题", "没什么大问题", "一点问题都没有", "没毛病", "没得说", "没啥说的",
    "没什么说的", "没什么可挑", "没啥可挑", "没意见", "没有意见", "没什么意见", "没啥意见", "不错",
    "不好意思", "不管怎么样", "不管如何", "没关系", "没事", "不知道满不满意",
)

# Negators, longest first when matched at the end of the text before a term.
NEGATORS = (
    "并没有", "谈不上", "说不上", "算不上", "称不上", "没有人", "没人", "不满", "不是", "并不", "从不", "毫不",
    "绝不", "没有",
    "不", "没", "未", "别", "无",
)

# Words that may sit between a negator and its term (不太满意, 没什么不满意, 一点都不热情).
DEGREE_WORDS = (
    "非常", "特别", "十分", "相当", "真的", "确实", "实在", "完全", "根本", "一点儿", "一点", "有点儿",
    "有点", "有些", "稍微", "怎么", "那么", "这么", "什么", "是很", "是太", "太", "很", "挺", "蛮",
    "超", "大", "够", "都", "也", "还", "真", "再", "算", "啥", "是", "得", "我", "觉得", "感觉",
    "并", "从来", "一直", "任何", "给", "予", "肯", "愿意",
)

# Degree words in front of 满意 that keep it "satisfied" and raise the score.
INTENSIFIERS = ("非常", "特别", "十分", "相当", "超级", "超", "太", "真的", "真")
MILD_INTENSIFIERS = ("很", "挺", "蛮", "还挺", "还是很", "比较", "都", "确实", "也", "是", "还是")

# Limiters in front of 满意 that make it "basically satisfied".
LIMITERS = ("基本上", "基本", "大体上", "大体", "大致", "总体还算", "还算", "算是", "勉强", "差不多",
            "总的来说还算", "一般")

# Rhetorical frames that turn 满意 into its opposite: 满意什么呀, 有什么好满意的, 你说我能满意吗.
RHETORICAL_AFTER = ("什么", "啥", "个屁", "个鬼", "个啥", "个什么", "才怪", "得了吗", "得起来")
RHETORICAL_BEFORE = ("有什么好", "有啥好", "有什么可", "怎么可能", "怎么会", "怎么能", "哪里", "哪能", "咋能")
RHETORICAL_QUESTION_BEFORE = ("能", "会", "还能", "还", "可能")

# Clause-level markers.
CONTRAST_MARKERS = ("但是", "可是", "不过", "只是", "就是", "然而", "但")
CONCESSION_MARKERS = ("虽然", "虽说", "尽管", "虽")
