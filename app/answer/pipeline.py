"""Answering: question -> retrieval -> prompt -> generator -> checked, cited answer.

The flow, and where it can stop early:

1. a follow-up is rewritten into a standalone question (``app.conversation``);
2. retrieval; when its relevance signal says nothing relevant was found, the reply is a
   fixed, localized refusal and the model is never called (stage ``retrieval``);
3. the passages are numbered into a prompt that fits the model's context window;
4. answerability (``app.answer.answerability``): a name, year or title of the question
   that no passage mentions, or the model's verdict on the prompt, refuses before any
   answer is written (stage ``answerability``);
5. the model streams its answer;
6. checks: citation markers pointing at no passage are removed, a reply that declines is
   marked refused, an answer whose wording is not supported by the passages it cites
   (character-bigram share below ``answer.grounding_threshold``), or whose cited
   passages do not mention the question's names, is refused or flagged (``grounding``).

Every refusal says which stage decided and why (``Answer.refusal``); ``Answer.checks``
holds every stage's figures, refused or not.
"""

from __future__ import annotations

import threading
import time
from collections import abc
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from app.answer.answerability import answerable
from app.answer.grounding import MARKER, check_answer, check_citations
from app.answer.prompt import build_prompt
from app.answer.script import in_traditional, writes_traditional
from app.answer.types import Answer, Progress, Refusal, Step
from app.conversation import follow_up_queries
from app.lang import detect_lang, refusal
from app.limits import check_history, check_text
from app.llm.base import GenerationRequest, Generator, Message, complete
from app.names import constraints
from app.passages import Passage, passages_for
from app.retrieve import hit_scores
from app.settings import Settings
from app.translate import translate_answer
from ingest.errors import InputError, TooLargeError

if TYPE_CHECKING:
    from app.wiring import Search


class Answerer:
    """Answers questions over one search (retriever and translation) with one generator."""

    def __init__(self, *, settings: Settings, search: Search, generator: Generator) -> None:
        self.settings = settings
        self.search = search
        self.retriever = search.retriever
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
    ) -> abc.Generator[str | Progress | Answer, None, None]:  # abc: Generator is the LLM
        """Text pieces as the model writes them, then one final ``Answer``; before each
        stage a ``Progress`` (rewrite, retrieve, read, generate, check, translate).

        Closing it mid-answer (a client hung up) stops the model; so does setting
        ``cancel`` from another thread, which also ends a wait for the model's first token.
        A question written in Traditional script is answered in it (``app.answer.script``).
        """
        question = self._validate(question)
        events = self._stream(question, history, top_k, sources, cancel)
        if self.settings.answer.follow_script and writes_traditional(question):
            return in_traditional(events)
        return events

    def _stream(
        self,
        question: str,
        history: Sequence[Message],
        top_k: int | None,
        sources: Sequence[str] | None,
        cancel: threading.Event | None,
    ) -> abc.Generator[str | Progress | Answer, None, None]:
        started = time.perf_counter()
        check_history(history, self.settings.limits)
        lang = detect_lang(question)
        timings: dict[str, float] = {}
        history = list(history)[-2 * self.settings.answer.max_history_turns :]

        def step(name: Step, **detail: Any) -> Progress:
            return Progress(name, time.perf_counter() - started, detail)

        t0 = time.perf_counter()
        if history:
            yield step("rewrite")
        query, *also = follow_up_queries(question, history, generator=self.generator)
        if history:
            timings["rewrite"] = time.perf_counter() - t0
        # The question as searched, when a follow-up was rewritten (shown to the user).
        yield step("retrieve", **({"query": query} if query != question else {}))
        t0 = time.perf_counter()
        result = self.search(query, also=also, top_k=top_k, sources=sources)
        timings["retrieve"] = time.perf_counter() - t0
        if "rerank" in result.timings:
            timings["rerank"] = result.timings["rerank"]
        top = max((h.relevance for h in result.hits), default=0.0)
        # Every query searched (a follow-up's forms, a translation) and each stage's figures.
        checks: dict[str, Any] = {
            "queries": result.queries,
            "relevance": round(top, 4),
            "passages": hit_scores(result.hits),  # each hit's scores, for explaining
        }
        if result.named:  # below the relevance gate, passed on by these names
            checks["named"] = result.named
        if not result.found:
            timings["total"] = time.perf_counter() - started
            threshold = self.retriever.settings.relevance_threshold
            yield self._refusal(
                lang,
                timings,
                query=query,
                checks=checks,
                why=Refusal(
                    "retrieval",
                    "no passage is relevant enough to the question"
                    if result.hits
                    else "the knowledge base has no passage to search",
                    {"relevance": round(top, 4), "threshold": threshold},
                ),
            )
            return
        # Retrieval has them already when they passed the question through its gate.
        wanted = result.named or constraints(query)
        checks["constraints"] = wanted

        passages = passages_for(
            result.hits, self.retriever.index.document_text, self.retriever.settings
        )
        # The question in the passages' language, when retrieval translated it.
        hint = result.translation
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
                checks=checks,
                step=step,
            )
            return
        # Answering directly, the translation still helps a small model see that the
        # passages do hold the answer.
        messages, passages = self._prompt(question, lang, history, passages, hint=hint)
        yield step("read")  # the model reads the prompt: the verdict, then the first token
        why = self._answerable(messages, passages, checks, timings, cancel)
        if why is not None:
            timings["total"] = time.perf_counter() - started
            yield self._refusal(lang, timings, query=query, checks=checks, why=why)
            return
        request = GenerationRequest(
            messages, question=question, passages=[p.text for p in passages], cancel=cancel
        )
        t0 = time.perf_counter()
        pieces: list[str] = []
        yield from _relay(self.generator.stream(request), pieces, timings, started, step)
        timings["generate"] = time.perf_counter() - t0
        yield step("check")
        timings["total"] = time.perf_counter() - started
        yield self._finish(
            "".join(pieces), passages, lang=lang, timings=timings, query=query, checks=checks
        )

    def _answers_in_passage_language(self) -> bool:
        # An extractive generator copies sentences: it has nothing to translate with.
        return self.settings.answer.cross_language == "translate" and self.generator.writes_text

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
        checks: dict[str, Any],
        step: Callable[..., Progress],
    ) -> Iterator[str | Progress | Answer]:
        """A cross-language question: answer in the passages' language, then translate.

        Answering in the passages' language, a small model keeps their facts and terms
        (English answers over the Chinese notes missed most of them), and the draft can be
        checked bigram by bigram like any same-language answer. Only the translation is
        streamed, so the first token comes after the whole draft (README "Answers").
        """
        draft_lang = self.retriever.lang
        messages, passages = self._prompt(translated_question, draft_lang, history, passages)
        yield step("read")
        why = self._answerable(messages, passages, checks, timings, cancel)
        if why is not None:
            timings["total"] = time.perf_counter() - started
            yield self._refusal(lang, timings, query=query, checks=checks, why=why)
            return
        texts = [p.text for p in passages]
        t0 = time.perf_counter()
        request = GenerationRequest(
            messages, question=translated_question, passages=texts, cancel=cancel
        )
        yield step("generate", draft=True)  # in the passages' language, not streamed
        written = complete(self.generator, request)
        if request.cancelled:
            return  # nobody is waiting for this answer any more
        yield step("check")
        draft = self._finish(
            written, passages, lang=draft_lang, timings=timings, query=query, checks=checks
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
        yield step("translate")
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

    def _answerable(
        self,
        messages: list[Message],
        passages: list[Passage],
        checks: dict[str, Any],
        timings: dict[str, float],
        cancel: threading.Event | None,
    ) -> Refusal | None:
        return answerable(
            messages,
            passages,
            settings=self.settings.answer,
            generator=self.generator,
            checks=checks,
            timings=timings,
            cancel=cancel,
        )

    def _validate(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise InputError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise TooLargeError(f"the question is too long ({len(question)} > {limit} characters)")
        check_text(question, what="the question")
        return question

    def _refusal(
        self,
        lang: str,
        timings: dict[str, float],
        *,
        query: str,
        checks: dict[str, Any],
        why: Refusal,
    ) -> Answer:
        return Answer(
            refusal(lang),
            True,
            [],
            self.generator.name,
            timings,
            query=query,
            refusal=why,
            checks=checks,
        )

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
        checks: dict[str, Any],
    ) -> Answer:
        answer = check_answer(
            raw,
            passages,
            settings=self.settings.answer,
            model=self.generator.name,
            lang=lang,
            timings=timings,
            query=query,
            wanted=checks["constraints"],
        )
        checks.update(answer.checks)
        answer.checks = checks
        return answer


def _relay(
    stream: Iterator[str],
    pieces: list[str],
    timings: dict[str, float],
    started: float,
    step: Callable[..., Progress] | None = None,
) -> Iterator[str | Progress]:
    """Pass the model's pieces on, keeping them in ``pieces`` and timing the first
    (announced as the ``generate`` stage when ``step`` is given)."""
    try:
        for piece in stream:
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
                if step is not None:
                    yield step("generate")
            pieces.append(piece)
            yield piece
    finally:
        close = getattr(stream, "close", None)  # a backend's generator: stop it now
        if close is not None:
            close()
