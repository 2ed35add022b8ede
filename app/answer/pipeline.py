"""Answering: question -> retrieval -> prompt -> generator -> checked, cited answer.

The flow, and where it can stop early:

1. a follow-up is rewritten into a standalone question (``app.conversation``);
2. retrieval; when its relevance signal says nothing relevant was found, the reply is a
   fixed, localized refusal and the model is never called;
3. the passages are numbered into a prompt that fits the model's context window;
4. the model streams its answer;
5. checks: citation markers pointing at no passage are removed, a reply that declines is
   marked refused, and an answer whose wording is not supported by the passages it
   cites (character-bigram share below ``answer.grounding_threshold``) is refused or
   flagged.
"""

from __future__ import annotations

import threading
import time
from collections import abc
from collections.abc import Iterator, Sequence

from app.answer.grounding import MARKER, check_answer, check_citations
from app.answer.prompt import build_prompt
from app.answer.types import Answer
from app.conversation import standalone_question
from app.lang import detect_lang, refusal
from app.llm.base import GenerationRequest, Generator, Message, complete
from app.passages import Passage, assemble
from app.retrieve import Retriever
from app.settings import Settings
from app.translate import translate_answer
from ingest.errors import InputError


class Answerer:
    """Answers questions over one retriever with one generator."""

    def __init__(self, *, settings: Settings, retriever: Retriever, generator: Generator) -> None:
        self.settings = settings
        self.retriever = retriever
        self.generator = generator

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Message] = (),
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> Answer:
        final: Answer | None = None
        for event in self.stream(question, history=history, top_k=top_k, sources=sources):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        *,
        history: Sequence[Message] = (),
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> abc.Generator[str | Answer, None, None]:  # abc: Generator here is the LLM
        """Text pieces as the model writes them, then one final ``Answer``.

        Closing it mid-answer (a client hung up) stops the model; so does setting
        ``cancel`` from another thread, which also ends a wait for the model's first token.
        """
        started = time.perf_counter()
        question = self._validate(question)
        lang = detect_lang(question)
        timings: dict[str, float] = {}
        history = list(history)[-2 * self.settings.answer.max_history_turns :]

        t0 = time.perf_counter()
        query = standalone_question(question, history, generator=self.generator)
        if history:
            timings["rewrite"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = self.retriever.search(query, top_k=top_k, sources=sources)
        timings["retrieve"] = time.perf_counter() - t0
        if "rerank" in result.timings:
            timings["rerank"] = result.timings["rerank"]
        if not result.found:
            timings["total"] = time.perf_counter() - started
            yield self._refusal(lang, timings, query=query)
            return

        passages = assemble(
            result.hits,
            document_text=self.retriever.index.document_text,
            merge=self.retriever.settings.merge_adjacent,
        )
        # The question in the passages' language, when retrieval translated it.
        hint = result.queries[1] if len(result.queries) > 1 else None
        if hint and self._answers_in_passage_language():
            yield from self._stream_translated(
                hint,
                lang,
                history,
                passages,
                timings=timings,
                started=started,
                query=query,
                cancel=cancel,
            )
            return
        # Answering directly, the translation still helps a small model see that the
        # passages do hold the answer.
        messages, passages = self._prompt(question, lang, history, passages, hint=hint)
        request = GenerationRequest(
            messages, question=question, passages=[p.text for p in passages], cancel=cancel
        )
        t0 = time.perf_counter()
        pieces: list[str] = []
        yield from _relay(self.generator.stream(request), pieces, timings, started)
        timings["generate"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        yield self._finish("".join(pieces), passages, lang=lang, timings=timings, query=query)

    def _answers_in_passage_language(self) -> bool:
        # An extractive generator copies sentences: it has nothing to translate with.
        return self.settings.answer.cross_language == "translate" and not getattr(
            self.generator, "copies_only", False
        )

    def _stream_translated(
        self,
        translated_question: str,
        lang: str,
        history: Sequence[Message],
        passages: list[Passage],
        *,
        timings: dict[str, float],
        started: float,
        query: str,
        cancel: threading.Event | None,
    ) -> Iterator[str | Answer]:
        """A cross-language question: answer in the passages' language, then translate.

        Answering in the passages' language, a small model keeps their facts and terms
        (English answers over the Chinese notes missed most of them), and the draft can be
        checked bigram by bigram like any same-language answer. Only the translation is
        streamed, so the first token comes after the whole draft (README "Answers").
        """
        draft_lang = self.retriever.lang
        messages, passages = self._prompt(translated_question, draft_lang, history, passages)
        texts = [p.text for p in passages]
        t0 = time.perf_counter()
        request = GenerationRequest(
            messages, question=translated_question, passages=texts, cancel=cancel
        )
        written = complete(self.generator, request)
        if request.cancelled:
            return  # nobody is waiting for this answer any more
        draft = self._finish(
            written,
            passages,
            lang=draft_lang,
            timings=timings,
            query=query,
        )
        timings["draft"] = time.perf_counter() - t0
        if draft.refused:
            timings["generate"] = time.perf_counter() - t0
            timings["total"] = time.perf_counter() - started
            draft.answer = refusal(lang)
            yield draft
            return
        pieces: list[str] = []
        limit = self.settings.llm.max_new_tokens
        translation = translate_answer(
            self.generator, draft.answer, lang, max_new_tokens=limit, cancel=cancel
        )
        yield from _relay(translation, pieces, timings, started)
        timings["generate"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        text, cited = check_citations("".join(pieces), texts)
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
        yield draft

    def _validate(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise InputError(f"the question is too long ({len(question)} > {limit} characters)")
        return question

    def _refusal(self, lang: str, timings: dict[str, float], *, query: str) -> Answer:
        return Answer(refusal(lang), True, [], self.generator.name, timings, query=query)

    def _prompt(
        self,
        question: str,
        lang: str,
        history: Sequence[Message],
        passages: list[Passage],
        *,
        hint: str | None = None,
    ) -> tuple[list[Message], list[Passage]]:
        return build_prompt(
            question,
            lang,
            history,
            passages,
            generator=self.generator,
            max_new_tokens=self.settings.llm.max_new_tokens,
            hint=hint,
        )

    def _finish(
        self,
        raw: str,
        passages: list[Passage],
        *,
        lang: str,
        timings: dict[str, float],
        query: str,
    ) -> Answer:
        return check_answer(
            raw,
            passages,
            settings=self.settings.answer,
            model=self.generator.name,
            lang=lang,
            timings=timings,
            query=query,
        )


def _relay(
    stream: Iterator[str], pieces: list[str], timings: dict[str, float], started: float
) -> Iterator[str]:
    """Pass the model's pieces on, keeping them in ``pieces`` and timing the first."""
    try:
        for piece in stream:
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
            pieces.append(piece)
            yield piece
    finally:
        close = getattr(stream, "close", None)  # a backend's generator: stop it now
        if close is not None:
            close()
