"""Checking an answer against its passages: citations, declines, grounding, quotes.

Citation markers pointing at no passage are removed (a supported sentence with a wrong
marker has it moved), a reply that declines is a refusal, and each sentence's wording
must be supported by the passages (character-bigram share, or for an answer in another
language than the passages the share of its names and numbers), and one of the
passages it cites must mention the question's names, years and titles
(``app.names.constraints``): bigrams alone pass NetEase's revenue given for Intel's.
An answer to a question that asks when or how many must give a figure those passages
hold (``asked``): bigrams alone pass a sentence about the visit for the date of the visit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.answer.answerability import passage_label
from app.answer.asked import asked_for, missed
from app.answer.types import Answer, Refusal, Source
from app.lang import bigrams, checkable_names, detect_lang, refusal
from app.names import missing_from
from app.passages import Passage
from app.settings import AnswerSettings
from ingest.clean import fold
from ingest.documents import document_id

MARKER = re.compile(r"[\[【](\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)[\]】]")
# How models say they cannot answer from the passages (checked on the folded reply).
_DECLINES = re.compile(
    r"无法(根据|从|回答|确定|找到)|没有(提到|提及|找到|相关|包含|涉及)|未(提及|提到|找到|包含)|"
    r"不包含|不能(回答|确定)|知识库中没有|"
    r"cannot (answer|be answered|find|determine)|can't (answer|find)|unable to (answer|find)|"
    r"(do|does) not (contain|mention|provide|include)|not (mentioned|found|provided) in|"
    r"no (information|mention)",
    re.IGNORECASE,
)


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


def check_citations(answer: str, passages: Sequence[str]) -> tuple[str, list[int]]:
    """Fix the answer's [n] markers; the passages cited, in order of first use.

    A marker that points at no passage is removed. A marker whose passage shares much
    less with the sentence before it than another passage does is moved to that one: a
    small model often cites [2] for what it read in [1].
    """
    support = [bigrams(p) for p in passages]
    cited: list[int] = []
    last = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal last
        claim = bigrams(answer[last : match.start()])
        last = match.end()
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        overlap = [len(claim & grams) for grams in support]
        best = max(range(len(support)), key=overlap.__getitem__, default=-1) + 1
        out: list[int] = []
        for n in numbers:
            if not 1 <= n <= len(passages):
                continue
            if best and overlap[n - 1] * 2 < overlap[best - 1]:
                n = best
            if n not in out:
                out.append(n)
        for n in out:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in out)

    text = MARKER.sub(fix, answer)
    text = re.sub(r"[ \t]+([。，,.!?！？])", r"\1", text)  # a removed marker left a space
    return text.strip(), cited


def declines(answer: str) -> bool:
    return bool(_DECLINES.search(answer)) and len(answer) < 160


def check_answer(
    raw: str,
    passages: list[Passage],
    *,
    settings: AnswerSettings,
    model: str,
    lang: str,
    timings: dict[str, float],
    query: str,
    wanted: Sequence[str] = (),
) -> Answer:
    """The model's raw reply as the checked, cited ``Answer`` (or a refusal).

    ``wanted``: the question's constraints (``app.names.constraints``); the passages
    the answer cites must mention them (with ``answer.check_constraints``), or it answers
    about something else. Those they miss are in ``checks["cited_missing"]``.
    """
    texts = [p.text for p in passages]
    text, cited = check_citations(raw, texts)

    def refused(reason: str, *, flagged: bool = True, **scores: Any) -> Answer:
        # flagged: the model wrote an answer the check withdrew (not a plain decline)
        return Answer(
            refusal(lang),
            True,
            [],
            model,
            timings,
            flagged=flagged,
            grounding=scores.get("grounding"),
            query=query,
            refusal=Refusal("grounding", reason, scores),
        )

    if not text:
        return refused("the model wrote no answer", flagged=False)
    if declines(text):
        return refused("the model said the passages do not give the answer", flagged=False)
    # Checked sentence by sentence against every passage given (a supported sentence
    # with a wrong marker has had its marker moved above): a small model often states
    # the right fact and then embroiders it from its own knowledge.
    cfg = settings
    flagged = False
    if cfg.grounding_action != "off":
        kept = supported_sentences(text, texts, threshold=cfg.grounding_threshold, question=query)
        if not kept:
            score = grounding_score(text, texts, query)
            if cfg.grounding_action == "refuse":
                return refused(
                    "no sentence of the answer is supported by the passages",
                    grounding=score,
                    threshold=cfg.grounding_threshold,
                )
            flagged = True
        elif kept != text:
            if cfg.grounding_action == "refuse":
                text, cited = check_citations(kept, texts)
            else:
                flagged = True
    score = grounding_score(text, texts, query)
    if not cited:  # an uncited answer still names where it came from
        grams = bigrams(text)
        best = max(range(len(texts)), key=lambda i: len(grams & bigrams(texts[i])))
        cited = [best + 1]
        text = f"{text} [{best + 1}]"
    cited_texts = [passage_label(passages[n - 1]) for n in cited]
    missing = missing_from(wanted, cited_texts)
    asked = asked_for(query)
    if cfg.check_constraints and cfg.grounding_action != "off":
        reason = None
        if missing:
            reason = "the passages the answer cites do not mention " + ", ".join(missing)
        elif missed(query, MARKER.sub(" ", text), cited_texts):
            reason = f"the question asks for a {asked} and the answer gives none its passages hold"
        if reason and cfg.grounding_action == "refuse":
            return refused(reason, grounding=score, missing=missing, asked=asked)
        flagged = flagged or reason is not None
    sources = [_source(n, passages[n - 1], text) for n in cited]
    answer = Answer(text, False, sources, model, timings, flagged, score, query)
    answer.checks["cited_missing"] = missing
    answer.checks["asked"] = asked
    return answer


def _source(n: int, p: Passage, answer: str) -> Source:
    """The cited passage, with the sentence that best supports the answer as its quote."""
    start, end = _best_sentence(p.text, answer)
    return Source(
        n,
        p.source,
        p.page,
        p.heading,
        p.chunk_ids[0],
        p.start,
        p.end,
        p.text,
        start,
        end,
        list(p.chunk_ids),
        p.origin,
        document_id(p.source),
    )


_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")


def _best_sentence(text: str, answer: str) -> tuple[int, int]:
    wanted = bigrams(MARKER.sub(" ", answer))
    best, span = 0, (0, 0)
    for m in _SENTENCE.finditer(text):
        score = len(wanted & bigrams(m.group()))
        if score > best:
            best, span = score, (m.start(), m.end())
    return span
