"""Answering: question -> retrieval -> prompt -> generator -> checked, cited answer.

pipeline.py   Answerer: validate -> follow-up -> retrieve -> assemble -> prompt ->
              generate -> check (the flow, where it can stop early, in its docstring)
run.py        one question's state through the stages: timings, figures, progress
crosslang.py  a question in another language: a draft in the passages', translated
prompt.py     system prompts, passages numbered within the context window
answerability.py  do the passages state the answer: constraints, the model's verdict
grounding.py  the checks after the answer: declines, grounding, names, the figure asked
support.py    how much of each sentence the passages support (bigrams, names, numbers)
citations.py  the answer's [n] markers fixed, the quote in each cited source
asked.py      what a question asks for (a time, a figure) and whether the answer gives it
script.py     a question written in Traditional Chinese answered in Traditional
types.py      Answer, Progress (a stage beginning), Refusal, Source
"""

from __future__ import annotations

from app.answer.citations import check_citations
from app.answer.pipeline import Answerer
from app.answer.support import grounding_score, supported_sentences
from app.answer.types import Answer, Progress, Source
from app.lang import bigrams, checkable_names, declines

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
