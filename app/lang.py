"""Language guesses good enough to route a question: Chinese or English."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ingest.clean import fold

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORDS = re.compile(r"\w+")


def detect_lang(text: str) -> str:
    """'zh' when CJK characters carry the text, else 'en'.

    A Chinese question often quotes Latin names (GPT-3, BLOOM-176B); a CJK character
    carries about as much as a short English word, so a few of them outweigh many
    Latin letters.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk * 8 >= latin else "en"


def bigrams(text: str) -> set[str]:
    """Character bigrams of the folded text, within runs of word characters: what
    grounding compares answers with passages by, and follow-up rewrites with the
    conversation."""
    grams: set[str] = set()
    for run in _WORDS.findall(fold(text)):
        if len(run) == 1:
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def corpus_lang(texts: Iterable[str], *, sample: int = 500) -> str:
    cjk = latin = 0
    for i, text in enumerate(texts):
        if i >= sample:
            break
        cjk += len(_CJK.findall(text))
        latin += len(_LATIN.findall(text))
    return "zh" if cjk * 5 >= latin else "en"


REFUSALS = {
    "zh": "抱歉，知识库中没有找到能回答这个问题的内容。",
    "en": "Sorry, the knowledge base does not contain the answer to this question.",
}


def refusal(lang: str) -> str:
    """The fixed "not in the knowledge base" reply, in the question's language."""
    return REFUSALS.get(lang, REFUSALS["en"])


# How models say they cannot answer from the passages (checked on the folded reply).
_DECLINES = re.compile(
    r"无法(根据|从|回答|确定|找到)|没有(提到|提及|找到|相关|包含|涉及)|未(提及|提到|找到|包含)|"
    r"不包含|不能(回答|确定)|知识库中没有|"
    r"cannot (answer|be answered|find|determine)|can't (answer|find)|unable to (answer|find)|"
    r"(do|does) not (contain|mention|provide|include)|not (mentioned|found|provided) in|"
    r"no (information|mention)",
    re.IGNORECASE,
)


def declines(answer: str) -> bool:
    return bool(_DECLINES.search(answer)) and len(answer) < 160


# Names, acronyms and numbers: what an answer in one language can be checked for in
# passages written in another ("BookCorpus", "11,000", "GLM-130B", "Koala").
_LATIN_WORD = re.compile(r"[A-Za-z0-9][\w.,%/-]*")


def name_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, word) of the numbers, acronyms, CamelCase and capitalised words not
    opening a sentence."""
    for m in _LATIN_WORD.finditer(text):
        word = m.group().rstrip(".,-/")
        before = text[: m.start()].rstrip()
        opens_sentence = not before or before[-1] in ".!?:;\n"
        if (
            any(ch.isdigit() for ch in word)
            or any(ch.isupper() for ch in word[1:])
            or (word[:1].isupper() and not opens_sentence)
        ):
            yield m.start(), m.start() + len(word), word


def checkable_names(text: str) -> set[str]:
    """The folded names of ``text`` (``name_spans``)."""
    return {fold(word) for _, _, word in name_spans(text)}
