"""Grounding: how much of an answer its passages support, sentence by sentence.

Same language, the share of a sentence's character bigrams found in the passages (or of
what it adds to the question); across languages, the share of its names and numbers.
Sentences below the threshold are dropped, keeping the answer's shape
(``supported_sentences``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.answer.citations import MARKER
from app.lang import bigrams, checkable_names, detect_lang
from ingest.clean import fold

# How a reply names its source before a claim ("根据资料，", "According to the passages,").
# The passages never say it, so its bigrams counted against the claim: "根据资料，电影
# 《搜救》的主演是甄子丹。" scored 0.45 against passages that say 甄子丹领衔主演, and a
# right answer was refused (RGB dev). Matched on the reply as written (not folded: the
# check across languages reads names by their capitals), in either script.
_ATTRIBUTION = re.compile(
    r"(?:^|(?<=[。！？!?.\n]))(\s*(?:(?:[-*+•]|\d{1,3}[.)、])\s+)?)(?:"
    r"(?:根据|根據|依据|依據|按照|从|從)(?:所?提供的|以上|上述|给出的|給出的|所[给給]的?)?"
    r"(?:资料|資料|材料|信息|資訊|文档|文檔|文本|段落|内容|內容|知识库|知識庫)"
    r"(?:中|的内容|的內容|来看|來看|所述|可知|显示|顯示){0,2}"
    r"|(?:according to|based on) (?:the )?(?:provided |given |above )?"
    r"(?:passages?|information|data|context|documents?|text|knowledge base)"
    r")\s*[，,：:]?",
    re.IGNORECASE,
)


# The shortest run of the question's own wording that an answer's claim is read without.
_RESTATED_MIN = 2


def claim_of(answer: str) -> str:
    """The answer without its citation markers and its "according to the passages"."""
    return _ATTRIBUTION.sub(r"\1 ", MARKER.sub(" ", answer))


def added_to(question: str, claim: str) -> set[str]:
    """The bigrams of what ``claim`` adds to ``question``: of the claim without every run
    of two or more characters it shares with the question (longest first, from the
    left); a character left alone between two such runs (是, 有) makes no bigram.

    Restating the question is not a claim: "最大的版本有70B参数。" for "最大的版本有多少参
    数？" claims "70B", and the passage, a table row, says "7/13/70B" without the
    question's words, so the sentence was cut and a right answer refused (notes dev set).
    Checked alone, what is added is too little to judge an answer by: the runs left
    between the question's words ("是4" of "…增长率是4.5%") cut right answers too (RGB
    dev), so ``grounding_score`` takes it as a second way to be supported, not the only."""
    text, asked = fold(claim), fold(question)
    out: list[str] = []
    i = 0
    while i < len(text):
        n = 1
        while i + n < len(text) and text[i : i + n + 1] in asked:
            n += 1
        if n >= _RESTATED_MIN:
            out.append(" ")
            i += n
        else:
            out.append(text[i])
            i += 1
    return {g for g in bigrams("".join(out)) if len(g) == 2}


def grounding_score(answer: str, passages: Sequence[str], question: str = "") -> float | None:
    """How much of the answer the passages support, 0..1 (None: nothing to check).

    Same language: the share of the answer's character bigrams found in the passages.
    An English answer over Chinese passages shares no bigrams with them even when it is
    right, so it is checked by its names and numbers instead. Bigrams are not counted
    for the words that name the source (``claim_of``); names are read with them, as a
    capitalised word after "According to the passages," is a name and one opening a
    sentence is not. Given the ``question``, an answer is also supported when what it
    adds to the question is (``added_to``): restating the question is not a claim.
    """
    answer = MARKER.sub(" ", answer)
    support = _support(tuple(passages))
    if detect_lang(answer) != support.lang:
        names = checkable_names(answer)
        if not names:
            return None
        return sum(1 for n in names if n.replace(",", "") in support.folded) / len(names)
    claim = claim_of(answer)
    grams = bigrams(claim)
    if not grams:
        return None
    score = len(grams & support.grams) / len(grams)
    added = added_to(question, claim) if question else set()
    if added:
        score = max(score, len(added & support.grams) / len(added))
    return score


@dataclass(frozen=True, slots=True)
class _Support:
    lang: str
    folded: str  # without thousands separators, for numbers written either way
    grams: frozenset[str]


@lru_cache(maxsize=16)
def _support(passages: tuple[str, ...]) -> _Support:
    """What ``grounding_score`` compares against, computed once per set of passages: an
    answer is checked sentence by sentence against the same passages."""
    text = " ".join(passages)
    return _Support(detect_lang(text), fold(text).replace(",", ""), frozenset(bigrams(text)))


# A sentence with the citation markers that follow it.
_ANSWER_SENTENCE = re.compile(
    r"(?:[^。！？!?.\n]|\.(?!\s|$))+(?:[。！？!?]+|\.(?=\s|$)|\n|$)(?:\s*\[\d+\])*"
)
_TOO_SHORT_TO_CHECK = 6  # characters: "是的。", "Yes." carry no claim of their own


# A list item's marker at the start of a line ("1. ", "- ", "2) "): it goes with its item.
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|(\d{1,3})[.)、])\s+")


def supported_sentences(
    answer: str, passages: Sequence[str], *, threshold: float, question: str = ""
) -> str:
    """The answer without its sentences that the passages do not support ("" if none are).

    Line by line, so the answer keeps its shape: a list item whose sentences all go goes
    with its marker (no stray "1.2.3." is left), and the numbered items left are numbered
    again from where their list began."""
    lines: list[str] = []
    claims = False
    number: int | None = None  # the next number of the numbered list being kept
    for line in answer.split("\n"):
        mark = _LIST_MARK.match(line)
        marker = mark.group() if mark else ""
        digits = mark.group(1) if mark else None  # a numbered item's number
        body = line[len(marker) :]
        kept = []
        for m in _ANSWER_SENTENCE.finditer(body):
            sentence = m.group()
            if not sentence.strip():
                continue
            # Too short to carry a claim, or only naming its source ("根据以上资料可知："
            # before a list): kept, and not scored.
            if len(MARKER.sub("", sentence).strip()) <= _TOO_SHORT_TO_CHECK or not bigrams(
                claim_of(sentence)
            ):
                kept.append(sentence)
                continue
            score = grounding_score(sentence, passages, question)
            if score is None or score >= threshold:
                kept.append(sentence)
                claims = True
        text = "".join(kept).strip()
        if not line.strip():
            lines.append("")  # paragraph breaks stay
            continue
        if digits is not None and number is None:
            number = int(digits)
        elif digits is None and text:
            number = None  # prose or bullets between lists start the numbering over
        if not text:
            continue
        if digits is not None and number is not None:
            indent = marker[: len(marker) - len(marker.lstrip())]
            text = f"{indent}{number}. {text}"
            number += 1
        else:
            text = marker + text
        lines.append(text)
    if not claims:
        return ""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
