"""Answering: question -> retrieval -> prompt -> generator -> checked, cited answer.

pipeline.py   Answerer: validate -> follow-up -> retrieve -> assemble -> prompt ->
              generate -> check (the flow, where it can stop early, in its docstring)
run.py        one question's state through the stages: timings, figures, progress
crosslang.py  a question in another language: a draft in the passages', translated
prompt.py     system prompts, passages numbered within the context window
answerability.py  do the passages state the answer: constraints, the model's verdict
grounding.py  citations, declines, grounding per sentence, the quote in each source
asked.py      what a question asks for (a time, a figure) and whether the answer gives it
script.py     a question written in Traditional Chinese answered in Traditional
types.py      Answer, Progress (a stage beginning), Refusal, Source
"""

from __future__ import annotations

from app.answer.grounding import (
    bigrams,
    check_citations,
    declines,
    grounding_score,
    supported_sentences,
)
from app.answer.pipeline import Answerer
from app.answer.types import Answer, Progress, Source
from app.lang import checkable_names

__all__ = [
    "Answer",
    "Answerer",
    "Progress",
    "Source",
    "bigrams",
    "check_citations",
    "checkable_names",
    "declines",
    "grounding_score",
    "supported_sentences",
]
