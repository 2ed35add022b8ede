"""A question in another language than the passages: answer in theirs, then translate.

Answering in the passages' language, a small model keeps their facts and terms (English
answers over the Chinese notes missed most of them), and the draft can be checked bigram
by bigram like any same-language answer. Only the translation is streamed, so the first
token comes after the whole draft (README "Answers").
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from app.answer.citations import MARKER, check_citations
from app.answer.run import Run
from app.answer.types import Answer, Progress
from app.lang import refusal
from app.llm.base import GenerationRequest, Message, complete
from app.passages import Passage
from app.translate import translate_answer

if TYPE_CHECKING:
    from app.answer.pipeline import Answerer


def stream_translated(
    answerer: Answerer,
    run: Run,
    translated_question: str,
    history: Sequence[Message],
    passages: list[Passage],
) -> Iterator[str | Progress | Answer]:
    """The draft in the passages' language, checked, then its translation streamed."""
    draft_lang = answerer.retriever.lang
    messages, passages = answerer.prompt(translated_question, draft_lang, history, passages)
    yield run.step("read")
    why = answerer.why_unanswerable(messages, passages, run)
    if why is not None:
        run.finish()
        yield answerer.refuse(run, why)
        return
    texts = [p.text for p in passages]
    t0 = time.perf_counter()
    request = GenerationRequest(
        messages, question=translated_question, passages=texts, cancel=run.cancel
    )
    yield run.step("generate", draft=True)  # in the passages' language, not streamed
    written = complete(answerer.generator, request)
    if request.cancelled:
        return  # nobody is waiting for this answer any more
    yield run.step("check")
    draft = answerer.check(written, passages, run, lang=draft_lang)
    run.timings["draft"] = time.perf_counter() - t0
    if draft.refused:
        run.timings["generate"] = time.perf_counter() - t0
        run.finish()
        draft.answer = refusal(run.lang)
        yield draft
        return
    pieces: list[str] = []
    yield run.step("translate")
    translation = translate_answer(
        answerer.generator,
        draft.answer,
        run.lang,
        max_new_tokens=answerer.settings.llm.max_new_tokens,
        cancel=run.cancel,
    )
    yield from run.relay(translation, pieces, announce=False)
    run.timings["generate"] = time.perf_counter() - t0
    run.finish()
    yield _recited(draft, "".join(pieces), texts)


def _recited(draft: Answer, translated: str, texts: list[str]) -> Answer:
    """The draft with its text replaced by the translation, citing what the draft cited."""
    text, cited = check_citations(translated, texts)
    drafted = [s.n for s in draft.sources]
    if not text:  # nothing came back: the checked draft is still an answer
        text, cited = draft.answer, drafted
    elif not cited or not set(cited) <= set(drafted):
        # The translation lost or changed the markers: cite what the draft cited.
        text = MARKER.sub("", text).strip() + " " + "".join(f"[{n}]" for n in drafted)
        cited = drafted
    by_number = {s.n: s for s in draft.sources}
    draft.answer = text
    draft.sources = [by_number[n] for n in cited]
    return draft
