"""The generator without a language model: quote the passages' best sentences, cited.

For machines that cannot run a model, and as a baseline for the evaluation: whatever it
says is copied from the knowledge base, so it can be wrong only by picking the wrong
sentence, never by inventing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.llm.base import GenerationRequest
from app.llm.prompts import estimate_tokens, has_cjk

REFUSAL_ZH = "抱歉，知识库中没有找到能回答这个问题的内容。"
REFUSAL_EN = "Sorry, I cannot answer this from the knowledge base."

MAX_SENTENCES = 3
# Sentences after the first must score at least this share of the best one, so that a
# strong answer is not padded with sentences that share a stray bigram with the question.
RELATIVE_CUTOFF = 0.5

# After Chinese end punctuation, or after . ! ? followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: int
    passage: int  # 1-based, the citation number
    position: int  # order of appearance, the tie-breaker (passages come ranked)
    text: str


class ExtractiveGenerator:
    """Answers with up to three sentences of ``request.passages``, each cited ``[n]``."""

    def __init__(self, *, context_window: int = 4096) -> None:
        self._context_window = context_window

    @property
    def name(self) -> str:
        return "extractive"

    @property
    def context_window(self) -> int:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        chosen = best_sentences(request.question, request.passages)
        if not chosen:
            yield REFUSAL_ZH if has_cjk(request.question) else REFUSAL_EN
            return
        for index, candidate in enumerate(chosen):
            cjk = has_cjk(candidate.text)
            if index:
                yield "" if cjk else " "
            yield candidate.text
            yield f"[{candidate.passage}]" if cjk else f" [{candidate.passage}]"


def best_sentences(
    question: str, passages: Sequence[str], *, limit: int = MAX_SENTENCES
) -> list[_Candidate]:
    """The sentences sharing the most character bigrams with ``question``, best first."""
    wanted = bigrams(question)
    if not wanted:
        return []
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    position = 0
    for number, passage in enumerate(passages, start=1):
        for sentence in split_sentences(passage):
            position += 1
            if sentence in seen:  # overlapping chunks repeat sentences
                continue
            seen.add(sentence)
            score = len(wanted & bigrams(sentence))
            if score:
                candidates.append(_Candidate(score, number, position, sentence))
    candidates.sort(key=lambda c: (-c.score, c.position))
    if not candidates:
        return []
    floor = candidates[0].score * RELATIVE_CUTOFF
    return [c for c in candidates[:limit] if c.score >= floor]


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def bigrams(text: str) -> set[str]:
    """Character bigrams inside each run of word characters, lowercased.

    A one-character run (a lone CJK character, a digit) counts as itself so that short
    questions still match. Bigrams never span spaces or punctuation, which would only
    add noise.
    """
    grams: set[str] = set()
    for run in _WORD.findall(text.lower()):
        if len(run) == 1:
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams
