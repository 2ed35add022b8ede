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
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.answer.answerability import answerable
from app.answer.crosslang import stream_translated
from app.answer.grounding import check_answer
from app.answer.prompt import build_prompt
from app.answer.run import Run
from app.answer.script import in_traditional, writes_traditional
from app.answer.types import Answer, Progress, Refusal
from app.conversation import follow_up_queries
from app.lang import detect_lang, refusal
from app.limits import check_history, check_question
from app.llm.base import GenerationRequest, Generator, Message
from app.names import constraints
from app.passages import Passage, passages_for
from app.retrieve import hit_scores
from app.settings import Settings
from ingest.errors import TooLargeError

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
        run = Run(detect_lang(question), cancel)
        check_history(history, self.settings.limits)
        history = list(history)[-2 * self.settings.answer.max_history_turns :]

        t0 = time.perf_counter()
        if history:
            yield run.step("rewrite")
        run.query, *also = follow_up_queries(question, history, generator=self.generator)
        if history:
            run.timings["rewrite"] = time.perf_counter() - t0
        # The question as searched, when a follow-up was rewritten (shown to the user).
        yield run.step("retrieve", **({"query": run.query} if run.query != question else {}))
        t0 = time.perf_counter()
        result = self.search(run.query, also=also, top_k=top_k, sources=sources)
        run.timings["retrieve"] = time.perf_counter() - t0
        if "rerank" in result.timings:
            run.timings["rerank"] = result.timings["rerank"]
        top = max((h.relevance for h in result.hits), default=0.0)
        # Every query searched (a follow-up's forms, a translation) and each stage's figures.
        run.checks.update(
            queries=result.queries,
            relevance=round(top, 4),
            passages=hit_scores(result.hits),  # each hit's scores, for explaining
        )
        if result.named:  # below the relevance gate, passed on by these names
            run.checks["named"] = result.named
        if not result.found:
            run.finish()
            threshold = self.retriever.settings.relevance_threshold
            yield self.refuse(
                run,
                Refusal(
                    "retrieval",
                    "no passage is relevant enough to the question"
                    if result.hits
                    else "the knowledge base has no passage to search",
                    {"relevance": round(top, 4), "threshold": threshold},
                ),
            )
            return
        # Retrieval has them already when they passed the question through its gate.
        run.checks["constraints"] = result.named or constraints(run.query)

        passages = passages_for(result.hits, self.retriever.index, self.retriever.settings)
        # The question in the passages' language, when retrieval translated it.
        hint = result.translation
        if hint and self.answers_in_passage_language:
            yield from stream_translated(self, run, hint, history, passages)
            return
        # Answering directly, the translation still helps a small model see that the
        # passages do hold the answer.
        messages, passages = self.prompt(question, run.lang, history, passages, hint=hint)
        yield run.step("read")  # the model reads the prompt: the verdict, then the first token
        why = self.why_unanswerable(messages, passages, run)
        if why is not None:
            run.finish()
            yield self.refuse(run, why)
            return
        request = GenerationRequest(
            messages, question=question, passages=[p.text for p in passages], cancel=cancel
        )
        t0 = time.perf_counter()
        pieces: list[str] = []
        yield from run.relay(self.generator.stream(request), pieces)
        run.timings["generate"] = time.perf_counter() - t0
        yield run.step("check")
        run.finish()
        yield self.check("".join(pieces), passages, run, lang=run.lang)

    @property
    def answers_in_passage_language(self) -> bool:
        """Whether a translated question is answered in the passages' language first."""
        # An extractive generator copies sentences: it has nothing to translate with.
        return self.settings.answer.cross_language == "translate" and self.generator.writes_text

    def why_unanswerable(
        self, messages: list[Message], passages: list[Passage], run: Run
    ) -> Refusal | None:
        """The answerability stage's refusal, or None when the passages may answer."""
        return answerable(
            messages,
            passages,
            settings=self.settings.answer,
            generator=self.generator,
            checks=run.checks,
            timings=run.timings,
            cancel=run.cancel,
        )

    def _validate(self, question: str) -> str:
        question = question.strip()
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise TooLargeError(f"the question is too long ({len(question)} > {limit} characters)")
        check_question(question)
        return question

    def refuse(self, run: Run, why: Refusal) -> Answer:
        """The localized refusal, saying which stage refused and why."""
        return Answer(
            refusal(run.lang),
            True,
            [],
            self.generator.name,
            run.timings,
            query=run.query,
            refusal=why,
            checks=run.checks,
        )

    def prompt(
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

    def check(self, raw: str, passages: list[Passage], run: Run, *, lang: str) -> Answer:
        """The model's reply checked (citations, declines, grounding), with every figure."""
        answer = check_answer(
            raw,
            passages,
            settings=self.settings.answer,
            model=self.generator.name,
            lang=lang,
            timings=run.timings,
            query=run.query,
            wanted=run.checks["constraints"],
        )
        run.checks.update(answer.checks)
        answer.checks = run.checks
        return answer
