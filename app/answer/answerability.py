"""Answerability: do the retrieved passages state the answer, not just share the topic?

Retrieval's relevance says "a passage is about this"; over news passages on the same
topic it is near 1.0 for questions the passages cannot answer too (README "Refusals").
Two checks decide between retrieval and the final answer:

- **constraints**: the question's names, model names, years and titles
  (``constraints``) must occur together in one passage, and in one of the passages the
  answer cites (``missing_from``): a question about Intel's revenue is not answered by a
  passage about NetEase's.
- **verdict**: the local model is asked, on the answer's own prompt plus one line,
  whether the passages state the answer, and its probability of "Yes" against "No" is
  read from the first token (``verdict_request``); llama.cpp reuses the prompt's cache,
  so this costs a few dozen tokens. Below ``answer.answerability_threshold`` the
  question is refused.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from app.answer.types import Refusal
from app.lang import detect_lang
from app.llm.base import GenerationRequest, Generator, Message
from app.passages import Passage
from app.settings import AnswerSettings
from ingest.clean import fold

# Latin names and numbers as written in a question: "GPT-4", "Llama 2", "M1", "G20", "7B".
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+/-]*")
# A name and its version written apart: "Llama 2", "PaLM 2", "GPT 4".
_VERSIONED = re.compile(r"\b[A-Z][A-Za-z]+[ -]\d+(?:\.\d+)?[A-Za-z]?\b")
_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_TITLE = re.compile(r"《([^》]{1,40})》")
# jieba's tags for organisations and other proper nouns (awards, events, products), and
# places (``_proper``). Its person tags were measured too: with every two-character place
# they caught two more unanswerable questions and cost a false refusal on each dev set
# (世锦赛 tagged as a person, 入门 as a place; README "Refusals").
_PROPER_TAGS = frozenset({"nt", "nz"})
# English words that open or join questions; never names (a named string, split once).
_QUESTION_WORDS = (
    "how what why who whom which when where does do did is are was were the a an "
    "in on of for to and or with from by at as it its"
)
_ENGLISH_FUNCTION_WORDS = frozenset(_QUESTION_WORDS.split())


def _key(text: str) -> str:
    """The form constraints are compared in: folded, word characters only, so "GLM-130B",
    "GLM(130B)" and "GLM 130B", or "Llama 2" and "LLaMA2", are one name."""
    return "".join(re.findall(r"\w", fold(text)))


def constraints(question: str) -> list[str]:
    """What a passage must mention to answer ``question``, as written in it.

    Latin names (with a capital or a digit: a Chinese question's Latin words are names;
    an English question's plain capitalised words are not counted, the notes may write
    them in Chinese; a name with its version, "Llama 2", is one), years, titles in 《》
    and, in a Chinese question, the words jieba tags as organisations or other proper
    nouns. Only the longest of overlapping names is kept ("Llama 2", not also "Llama").
    """
    english = detect_lang(question) == "en"
    found = [
        v
        for v in _VERSIONED.findall(question)
        if re.split(r"[ -]", v)[0].lower() not in _ENGLISH_FUNCTION_WORDS
    ]
    for m in _LATIN.finditer(question):
        word = m.group().rstrip(".-/+")
        if not word or word.lower() in _ENGLISH_FUNCTION_WORDS:
            continue
        digits = any(c.isdigit() for c in word)
        letters = any(c.isalpha() for c in word)
        if digits and not letters and not _YEAR.fullmatch(word):
            continue  # a bare count ("设为32") is asked about, not a name
        inner_capital = any(c.isupper() for c in word[1:])
        if (digits and letters) or inner_capital or (not english and word[:1].isupper()):
            found.append(word)
    found += _YEAR.findall(question)
    found += _TITLE.findall(question)
    if not english:
        found += [w for w, tag in _pos_tags(question) if _proper(w, tag)]
    unique: list[str] = []
    for word in found:
        key = _key(word)
        if key and not any(key in _key(u) for u in unique):
            unique = [u for u in unique if _key(u) not in key] + [word]
    return unique


def missing_from(wanted: Sequence[str], texts: Iterable[str]) -> list[str]:
    """The constraints missing from the one of ``texts`` that mentions the most of them.

    One passage must hold them together: a passage on NetEase's 2022 revenue and
    another on an Intel chip do not answer "Intel's 2022 revenue" between them.
    """
    if not wanted:
        return []
    keys = [_key(t) for t in texts]
    best = max(keys, key=lambda text: sum(_mentions(text, w) for w in wanted), default="")
    return [w for w in wanted if not _mentions(best, w)]


def _mentions(text_key: str, name: str) -> bool:
    """Whether a passage (as ``_key``) mentions ``name``: as one word, or for a name with
    a size, "GLM-130B", its parts apart (a passage headed "GLM" that says "参数量:130B");
    parts of one character ("GPT-4", "Llama 2") only as one word."""
    if _key(name) in text_key:
        return True
    parts = [_key(p) for p in re.split(r"[\s\-_()（）]+", name) if p]
    return len(parts) > 1 and all(len(p) >= 2 and p in text_key for p in parts)


def _proper(word: str, tag: str) -> bool:
    # jieba tags 英特尔 as a place; its two-character "places" are mostly countries, which
    # news passages mention everywhere, or misreadings (入门).
    if tag == "ns":
        return len(word) >= 3
    return tag in _PROPER_TAGS and len(word) >= 2


@cache
def _posseg() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _pos_tags(text: str) -> list[tuple[str, str]]:
    return [(w, t) for w, t in _posseg().cut(text)]


def warm() -> None:
    """Load jieba's part-of-speech dictionary now: 1.1 s on two cores, which the first
    question after a start otherwise waits for (the server's warm-up calls this)."""
    _pos_tags("预热")


# The verdict question, appended to the answer prompt's last user turn, and its options
# (one token each for the default model's tokenizer and most others). It is asked in
# English whatever the passages' language: of four phrasings measured on both dev sets
# (bench/answerability.py), this one separated answerable from unanswerable questions
# best (AUC 0.91 pooled, 0.94 on the RGB set; the Chinese 是/否 question 0.84).
VERDICT = (
    "Do the passages above explicitly state the answer to this question (for the same "
    "subject, year and attribute)? Answer Yes or No.",
    ("Yes", "No"),
)


def verdict_request(messages: Sequence[Message]) -> tuple[GenerationRequest, tuple[str, str]]:
    """The answer's messages with the verdict question added to the last turn."""
    question, options = VERDICT
    last = messages[-1]
    asked = [*messages[:-1], replace(last, content=f"{last.content}\n\n{question}")]
    return GenerationRequest(asked, max_new_tokens=1), options


def answerable(
    messages: Sequence[Message],
    passages: Sequence[Passage],
    *,
    settings: AnswerSettings,
    generator: Generator,
    checks: dict[str, Any],
    timings: dict[str, float],
    cancel: threading.Event | None = None,
) -> Refusal | None:
    """The answerability stage on the prompt about to be answered: None when the
    passages may give the answer, else why not. Records its figures in ``checks``
    (``constraints`` must be there already)."""
    wanted = checks["constraints"]
    missing = missing_from(wanted, [passage_label(p) for p in passages])
    checks["missing"] = missing
    if missing and settings.check_constraints:
        return Refusal(
            "answerability",
            "no passage mentions " + ", ".join(missing),
            {"missing": missing, "constraints": wanted},
        )
    if not (settings.verdict and generator.judges):
        return None
    request, options = verdict_request(messages)
    if cancel is not None:
        request = replace(request, cancel=cancel)
    t0 = time.perf_counter()
    probabilities = generator.judge(request, options)
    timings["judge"] = time.perf_counter() - t0
    if probabilities is None:
        return None
    p = round(probabilities[0], 4)
    checks["p_answerable"] = p
    if p < settings.answerability_threshold:
        return Refusal(
            "answerability",
            "the model judged that the passages do not give the answer",
            {"p_answerable": p, "threshold": settings.answerability_threshold},
        )
    return None


def passage_label(p: Passage) -> str:
    """What a passage says about itself and its subject: file name, heading, text."""
    return f"{p.source}\n{p.heading}\n{p.text}"
