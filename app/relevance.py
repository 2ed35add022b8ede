"""Calibrated relevance of a passage to a question, normalised per index.

A raw cosine says little on its own: multilingual-e5 puts unrelated Chinese pairs near
0.80 and unrelated English pairs near 0.75, and the best of many chunks rises with the
size of the corpus. So each loaded index measures its own *background*: the best cosine
that questions about unrelated everyday things (``BACKGROUND``, in Chinese and English)
reach against it, per question language. A hit's relevance is a logistic of how far
its cosine stands above that background, plus a small keyword term; the offset and the
scale are in cosine units and were chosen on two development sets over different
corpora (README, "Relevance signal"), so no constant depends on one corpus's range.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from ingest.clean import to_simplified
from ingest.embed import Embedder, Vectors

Nearest = Callable[[Vectors, int], list[tuple[int, float]]]  # (row, cosine), best first

# Questions no team's documents are likely to answer, on many unrelated subjects. Only
# the median of their best cosines is used, so a corpus that happens to cover a few of
# them (a cookbook, a travel guide) moves the background little.
BACKGROUND: dict[str, tuple[str, ...]] = {
    "zh": (
        "红烧肉怎么做才不油腻？",
        "明天北京会下雨吗？",
        "猫为什么喜欢晒太阳？",
        "怎样给自行车链条上油？",
        "马拉松比赛前一天应该吃什么？",
        "多肉植物多久浇一次水？",
        "去云南旅游几月份最合适？",
        "信用卡逾期会有什么后果？",
        "感冒发烧时可以洗澡吗？",
        "小孩几岁开始学游泳比较好？",
        "如何去除衣服上的红酒渍？",
        "钢琴初学者每天练习多久？",
        "租房合同到期后押金怎么退？",
        "冬天汽车电瓶没电了怎么办？",
        "唐朝的首都在哪里？",
        "足球比赛中越位是怎么判罚的？",
        "怎样挑选新鲜的西瓜？",
        "狗狗吃巧克力会中毒吗？",
        "装修房子时地板选实木还是复合？",
        "失眠的时候有哪些放松方法？",
        "护照过期了如何续办？",
        "咖啡因每天摄入多少算安全？",
        "婚礼上伴郎需要做哪些事？",
        "家里的下水道堵了怎么疏通？",
        "太阳系中最大的行星是哪一颗？",
        "学习书法应该从哪种字体开始？",
        "高血压患者饮食要注意什么？",
        "如何在阳台上种番茄？",
        "羽毛球拍的磅数怎么选？",
        "春节贴春联有什么讲究？",
        "孕妇可以喝绿茶吗？",
        "二手车过户需要哪些材料？",
    ),
    "en": (
        "How do I make pancakes without eggs?",
        "Will it rain in London tomorrow?",
        "Why do cats sleep so much?",
        "How often should I oil my bicycle chain?",
        "What should I eat the day before a marathon?",
        "How often do succulents need watering?",
        "What is the best month to visit Iceland?",
        "What happens if I miss a credit card payment?",
        "Can I take a shower when I have a fever?",
        "At what age should children learn to swim?",
        "How do I remove a red wine stain from a shirt?",
        "How long should a beginner practise piano each day?",
        "How do I get my rental deposit back?",
        "What do I do when my car battery dies in winter?",
        "Who was the first emperor of Rome?",
        "How is offside decided in football?",
        "How can I tell if a watermelon is ripe?",
        "Is chocolate poisonous to dogs?",
        "Should I choose hardwood or laminate flooring?",
        "What helps you fall asleep faster?",
        "How do I renew an expired passport?",
        "How much caffeine per day is safe?",
        "What are the duties of a best man at a wedding?",
        "How do I unclog a kitchen sink?",
        "Which planet in the solar system is the largest?",
        "Which calligraphy style should a beginner start with?",
        "What foods should people with high blood pressure avoid?",
        "How do I grow tomatoes on a balcony?",
        "What string tension is right for a badminton racket?",
        "What are the traditions of Thanksgiving dinner?",
        "Can pregnant women drink green tea?",
        "What papers do I need to sell a used car?",
    ),
}

# In cosine units above the index's background for the question's language: the boundary
# (relevance 0.5) sits OFFSET above the median best cosine of the background questions,
# and SCALE is how fast relevance rises past it. Both are a logistic fit of "answerable
# vs off-topic" on three corpora (the notes, RGB's news, an English manual), each
# corpus's groups weighing the same: bench/relevance.py, README "Relevance signal"
# (fitted 0.0481 / 0.0049, bootstrap 90% interval of the offset 0.042-0.055).
OFFSET = 0.048
SCALE = 0.005
_COVERAGE_WEIGHT = 0.01
_FULL_MATCH_WEIGHT = 0.12  # per unit of coverage above _FULL_MATCH_FROM
_FULL_MATCH_FROM = 0.6


@dataclass(frozen=True, slots=True)
class Background:
    """Median best cosine of the background questions, per question language."""

    by_lang: dict[str, float]

    def of(self, lang: str) -> float:
        return self.by_lang.get(lang, self.by_lang["en"])


def measure_background(embedder: Embedder, nearest: Nearest) -> Background:
    """The background of the index ``nearest`` searches (64 query embeddings and
    searches: about a second for e5-small on two cores, once per index version)."""
    by_lang: dict[str, float] = {}
    for lang, questions in BACKGROUND.items():
        best = []
        for question in questions:
            found = nearest(embedder.embed_query(to_simplified(question)), 1)
            best.append(found[0][1] if found else 0.0)
        by_lang[lang] = float(statistics.median(best))
    return Background(by_lang)


def relevance(dense: float, cover: float, background: float) -> float:
    """Calibrated 0..1 relevance of one passage from its dense cosine, its keyword
    coverage (IDF-weighted share of the question's words in it) and the index's
    background for the language the cosine was measured in.

    A passage holding (nearly) every weighted word of the question gets a bonus, because
    short keyword questions ("什么是RLHF？") get low cosines however well they match.
    """
    lexical = _COVERAGE_WEIGHT * cover + _FULL_MATCH_WEIGHT * max(0.0, cover - _FULL_MATCH_FROM)
    z = (dense + lexical - background - OFFSET) / SCALE
    return 1.0 / (1.0 + math.exp(-z))
