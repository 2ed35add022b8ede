"""Answerability: do the retrieved passages state the answer, not just share the topic?

Retrieval's relevance says "a passage is about this"; over news passages on the same
topic it is near 1.0 for questions the passages cannot answer too (README "Refusals").
Two checks decide between retrieval and the final answer:

- **constraints**: the question's names, model names, years and titles
  (``app.names.constraints``) must occur together in one passage, and in one of the
  passages the answer cites (``missing_from``): a question about Intel's revenue is not
  answered by a passage about NetEase's.
- **verdict**: the local model is asked, on the answer's own prompt plus one line,
  whether the passages state the answer, and its probability of "Yes" against "No" is
  read from the first token (``verdict_request``); llama.cpp reuses the prompt's cache,
  so this costs a few dozen tokens. Below ``answer.answerability_threshold`` the
  question is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.answer.types import Refusal
from app.llm.base import GenerationRequest, Generator, Message
from app.names import missing_from
from app.passages import Passage
from app.settings import AnswerSettings

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
    """What a passage says about itself and its subject: file name, document title,
    heading, text."""
    return f"{p.source}\n{p.title}\n{p.heading}\n{p.text}"
