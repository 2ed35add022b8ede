"""What a question asks for, when the form of the answer can be checked: a time or a figure.

A question that asks when or how many is answered by a date or a number. Over passages
on the same event a small model answers "马克龙访华时间？" with a sentence about the visit
that gives no date, or "查尔斯加冕时间" with a date no passage it cites holds; the bigram
check passes both, because their words are the passages' words. So an answer to such a
question must give a figure of its own (not one the question already holds, "2022年…")
that one of the passages it cites contains (``gives_figure``).

Only interrogative forms count (多少, 几个, 什么时候, "how many", a question ending in
时间/日期): attribute nouns (营收, 规模, 票房) vary with the corpus, and "哪几个阶段" asks for a
list, not a count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from ingest.clean import fold

Asked = Literal["time", "figure"]
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve"

_TIME = re.compile(
    r"什么时候|何时|哪一?年|哪一?天|几月|几号|几点|什么时间|哪个月|(?:时间|日期)\s*[？?]?\s*$|"
    # English "when" asks for a time only as "when did / was / were": in "when does the
    # else clause run" it asks for a condition, and in "recommended when building an LLM"
    # or "When tuning a model…, how many passes" it asks nothing.
    r"\bwhen\s+(?:did|was|were)\b|\bwhat (?:year|date|day|time)\b|\bwhich (?:year|date|day)\b",
    re.IGNORECASE,
)
_FIGURE = re.compile(
    r"多少|多大|多长|多久|多高|多重|多远|(?<!哪)几[个位名次岁年天种项倍届组条层级]|第几|"
    r"\bhow (?:many|much|long|old|large|big|tall|far)\b|\bwhat (?:percentage|proportion)\b",
    re.IGNORECASE,
)
_CN_DIGIT = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_NUMERAL = "[零〇一二两三四五六七八九十百千]+"
# Units a figure is written with, longest first where one begins another; 万 and 亿 are
# sizes and go with the unit after them ("687亿美元", "6.05万亿美元").
_CURRENCIES = ("美元", "欧元", "英镑", "日元", "港元", "人民币", "元")
_UNITS = (
    *_CURRENCIES,
    "公里", "千米", "小时", "分钟", "百分点",
    "年", "月", "日", "号", "时", "点", "分", "秒", "%", "个", "位", "名", "次", "岁",
    "天", "种", "项", "倍", "届", "组", "条", "层", "级", "人", "吨", "米", "张", "部", "家",
)  # fmt: skip
_UNIT = "|".join(map(re.escape, _UNITS))
# A figure as written: a number with its size and unit, dates joined ("2021年12月25日").
_FIGURE_WRITTEN = re.compile(
    rf"(?:第\s*\d+|\d+(?:\.\d+)?\s*[千万亿]{{0,2}}\s*(?:{_UNIT})|\d+(?:\.\d+)?)"
    rf"(?:\s*\d+(?:\.\d+)?\s*(?:{_UNIT}))*"
)
# "多少美元", "多少钱", "多少人": the unit the question wants its figure in.
_WANTED_UNIT = re.compile(rf"多少\s*(钱|{_UNIT})")
# A Chinese numeral read as a number: after 第 or with a unit; bare, 一 is in 一些, 统一.
_CN_FIGURE = re.compile(rf"(?<=第){_CN_NUMERAL}|{_CN_NUMERAL}(?=[千万亿]{{0,2}}(?:{_UNIT}))")
# A name with a number in it: "GLM-130B", "G20", "GPT-4", "7B".
_NAME_WITH_NUMBER = re.compile(r"[A-Za-z][\w.-]*\d[\w.]*|\d+(?:\.\d+)?[A-Za-z]+\w*")
_EN_NUMBER = {w: n for n, w in enumerate(_NUMBER_WORDS.split(), 1)}


def asked_for(question: str) -> Asked | None:
    """``time`` when the question asks when, ``figure`` when it asks how many or how
    much, else None (the answer's form says nothing)."""
    if _TIME.search(question):
        return "time"
    if _FIGURE.search(question):
        return "figure"
    return None


def figures(text: str) -> set[str]:
    """The figures ``text`` gives, as written but in one form: folded, without spaces or
    thousands separators, Chinese numerals as digits ("五月七日" → "5月7日", "第三" → "第3")."""
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", fold(text))
    # Spaces go ("2021 年 12 月" is one date) except between two numbers, which stay two
    # (a table row's "2023-08 7/13/70B" is not the figure "087").
    key = _CN_FIGURE.sub(_cn_digits, re.sub(r"(?<!\d)\s+|\s+(?!\d)", "", folded))
    found = {m.group() for m in _FIGURE_WRITTEN.finditer(key)}
    found |= {str(v) for w, v in _EN_NUMBER.items() if re.search(rf"\b{w}\b", folded)}
    return found


def missed(question: str, answer: str, cited: Sequence[str]) -> Asked | None:
    """What the question asks for and the answer (without citation markers) does not
    give from its ``cited`` passages; None when it asks for no time or figure, or the
    answer gives one."""
    asked = asked_for(question)
    return asked if asked and not gives_figure(answer, question, cited) else None


def gives_figure(answer: str, question: str, cited: Sequence[str]) -> bool:
    """Whether ``answer`` gives a figure the question does not hold and one of the
    ``cited`` passages does, as written (a date as a whole: "5月26日" is not held by a
    passage that says "5月25日"); in the unit the question asks for, if it names one."""
    # The question's years and dates are not an answer; a number in a name it asks about
    # may be ("GLM-130B 的参数量是多少？" → "130B").
    own = figures(answer) - figures(_NAME_WITH_NUMBER.sub(" ", question))
    wanted = _WANTED_UNIT.search(fold(question))
    if wanted:
        unit = wanted.group(1)
        units = _CURRENCIES if unit == "钱" else (unit,)
        own = {f for f in own if f.endswith(units)}
    held = " ".join(f for text in cited for f in figures(text))
    return any(_held(f, held) for f in own)


def _held(figure: str, held: str) -> bool:
    """Whether ``figure`` is among ``held`` (figures joined by spaces): whole, so "7" is
    not held by "17" or "7.5"."""
    return re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d.])", held) is not None


def _cn_digits(m: re.Match[str]) -> str:
    """A Chinese numeral below 10,000 as digits (一 → 1, 十二 → 12, 三百零五 → 305, 二〇二二
    → 2022): ``_CN_NUMERAL`` holds no 万 or 亿, whose sizes stay as written."""
    numeral = m.group()
    if all(c in _CN_DIGIT for c in numeral):  # digit by digit
        return "".join(str(_CN_DIGIT[c]) for c in numeral)
    total, digit = 0, 0
    for c in numeral:
        if c in _CN_DIGIT:
            digit = _CN_DIGIT[c]
        else:  # 十, 百, 千
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
    return str(total + digit)
