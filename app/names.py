"""The names a question asks about, and whether a passage mentions them.

A question's Latin names ("GPT-4", "Llama 2", "GLM-130B"), years, titles in 《》 and the
organisations and proper nouns jieba tags in a Chinese one are what a passage must
mention to be about the same thing: the answerability stage requires them together in
one passage (a passage on NetEase's 2022 revenue does not answer Intel's), and retrieval
lets a question through its relevance gate when one passage it found names them all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from app.lang import detect_lang
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


def named_together(question: str, texts: Sequence[str]) -> list[str]:
    """The question's names when one of ``texts`` mentions them all, else []: none
    unless it names something as written, a Latin name or a title (a year is not a
    subject, and jieba's proper-noun tags are too loose to be one on their own)."""
    wanted = constraints(question)
    titles = set(_TITLE.findall(question))
    written = [w for w in wanted if not _YEAR.fullmatch(w) and (w in titles or _LATIN.match(w))]
    if not written or missing_from(wanted, texts):
        return []
    return wanted


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
