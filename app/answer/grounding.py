"""Checking an answer against its passages: the model's reply as a cited ``Answer``, or a
refusal with its reason.

Citation markers pointing at no passage are removed (a supported sentence with a wrong
marker has it moved: ``citations``), a reply that declines is a refusal, and each
sentence's wording must be supported by the passages (``support``: character-bigram
share, or for an answer in another language than the passages the share of its names
and numbers), and one of the passages it cites must mention the question's names, years
and titles (``app.names.constraints``): bigrams alone pass NetEase's revenue given for
Intel's. An answer to a question that asks when or how many must give a figure those
passages hold (``asked``): bigrams alone pass a sentence about the visit for the date of
the visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.answer.answerability import passage_label
from app.answer.asked import asked_for, missed
from app.answer.citations import MARKER, check_citations, sources_of
from app.answer.support import grounding_score, supported_sentences
from app.answer.types import Answer, Refusal
from app.lang import bigrams, declines, refusal
from app.names import missing_from
from app.passages import Passage
from app.settings import AnswerSettings


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
            if cfg.grounding_action == "refuse":
                return refused(
                    "no sentence of the answer is supported by the passages",
                    grounding=grounding_score(text, texts, query),
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
    sources = sources_of(cited, passages, text)
    answer = Answer(text, False, sources, model, timings, flagged, score, query)
    answer.checks["cited_missing"] = missing
    answer.checks["asked"] = asked
    return answer
