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

import re
import threading
import time
from collections import abc
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from app.conversation import standalone_question
from app.lang import checkable_names, detect_lang, refusal
from app.llm.base import GenerationRequest, Generator, Message, complete
from app.passages import Passage, assemble
from app.retrieve import Retriever
from app.settings import Settings
from app.translate import translate_answer
from ingest.clean import fold
from ingest.errors import InputError

_MARKER = re.compile(r"[\[【](\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)[\]】]")
_WORDS = re.compile(r"\w+")
# How models say they cannot answer from the passages (checked on the folded reply).
_DECLINES = re.compile(
    r"无法(根据|从|回答|确定|找到)|没有(提到|提及|找到|相关|包含|涉及)|未(提及|提到|找到|包含)|"
    r"不包含|不能(回答|确定)|知识库中没有|"
    r"cannot (answer|be answered|find|determine)|can't (answer|find)|unable to (answer|find)|"
    r"(do|does) not (contain|mention|provide|include)|not (mentioned|found|provided) in|"
    r"no (information|mention)",
    re.IGNORECASE,
)

# No "say you cannot answer" clause: with it the default 1.5B model declined a third of
# the answerable dev questions. Refusing is left to the retrieval gate (before the model)
# and the grounding check (after it); README "Answers".
SYSTEM_PROMPT = {
    "zh": (
        "你是一个知识库问答助手。根据下面编号的资料回答问题，用中文作答，"
        "简洁但要包含资料中与问题相关的全部要点，尽量使用资料中的原话，"
        "并在用到的句子后用 [1]、[2] 这样的编号注明出处。不要编造资料以外的内容。"
    ),
    "en": (
        "You answer questions from a knowledge base. Answer from the numbered passages below "
        "(they may be in Chinese; read them and answer in English). Be concise but include "
        "every relevant point, keep the passages' names and numbers, and cite the passages "
        "you use as [1], [2] after the sentences that use them. Do not add facts that are "
        "not in the passages."
    ),
}


@dataclass(slots=True)
class Source:
    n: int
    source: str
    page: int | None
    heading: str
    chunk_id: str
    start: int
    end: int
    text: str
    quote_start: int = 0
    quote_end: int = 0
    chunk_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Answer:
    answer: str
    refused: bool
    sources: list[Source]
    model: str
    timings: dict[str, float]
    flagged: bool = False
    grounding: float | None = None
    query: str = ""  # what was searched (the rewritten question for follow-ups)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return data


def bigrams(text: str) -> set[str]:
    """Character bigrams of the folded text, within runs of word characters."""
    grams: set[str] = set()
    for run in _WORDS.findall(fold(text)):
        if len(run) == 1:
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def grounding_score(answer: str, passages: Sequence[str]) -> float | None:
    """How much of the answer the passages support, 0..1 (None: nothing to check).

    Same language: the share of the answer's character bigrams found in the passages.
    An English answer over Chinese passages shares no bigrams with them even when it is
    right, so it is checked by its names and numbers instead.
    """
    answer = _MARKER.sub(" ", answer)
    support = _support(tuple(passages))
    if detect_lang(answer) != support.lang:
        names = checkable_names(answer)
        if not names:
            return None
        return sum(1 for n in names if n.replace(",", "") in support.folded) / len(names)
    grams = bigrams(answer)
    if not grams:
        return None
    return len(grams & support.grams) / len(grams)


@dataclass(frozen=True, slots=True)
class _Support:
    lang: str
    folded: str  # without thousands separators, for numbers written either way
    grams: frozenset[str]


@lru_cache(maxsize=16)
def _support(passages: tuple[str, ...]) -> _Support:
    """What ``grounding_score`` compares against, computed once per set of passages: an
    answer is checked sentence by sentence against the same passages."""
    text = " ".join(passages)
    return _Support(detect_lang(text), fold(text).replace(",", ""), frozenset(bigrams(text)))


# A sentence with the citation markers that follow it.
_ANSWER_SENTENCE = re.compile(
    r"(?:[^。！？!?.\n]|\.(?!\s|$))+(?:[。！？!?]+|\.(?=\s|$)|\n|$)(?:\s*\[\d+\])*"
)
_TOO_SHORT_TO_CHECK = 6  # characters: "是的。", "Yes." carry no claim of their own


def supported_sentences(answer: str, passages: Sequence[str], *, threshold: float) -> str:
    """The answer without its sentences that the passages do not support ("" if none are)."""
    kept = []
    for m in _ANSWER_SENTENCE.finditer(answer):
        sentence = m.group()
        if not sentence.strip():
            continue
        score = grounding_score(sentence, passages)
        short = len(_MARKER.sub("", sentence).strip()) <= _TOO_SHORT_TO_CHECK
        if short or score is None or score >= threshold:
            kept.append(sentence)
    if not any(len(_MARKER.sub("", k).strip()) > _TOO_SHORT_TO_CHECK for k in kept):
        return ""
    return "".join(kept).strip()


def check_citations(answer: str, passages: Sequence[str]) -> tuple[str, list[int]]:
    """Fix the answer's [n] markers; the passages cited, in order of first use.

    A marker that points at no passage is removed. A marker whose passage shares much
    less with the sentence before it than another passage does is moved to that one: a
    small model often cites [2] for what it read in [1].
    """
    support = [bigrams(p) for p in passages]
    cited: list[int] = []
    last = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal last
        claim = bigrams(answer[last : match.start()])
        last = match.end()
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        overlap = [len(claim & grams) for grams in support]
        best = max(range(len(support)), key=overlap.__getitem__, default=-1) + 1
        out: list[int] = []
        for n in numbers:
            if not 1 <= n <= len(passages):
                continue
            if best and overlap[n - 1] * 2 < overlap[best - 1]:
                n = best
            if n not in out:
                out.append(n)
        for n in out:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in out)

    text = _MARKER.sub(fix, answer)
    text = re.sub(r"[ \t]+([。，,.!?！？])", r"\1", text)  # a removed marker left a space
    return text.strip(), cited


def declines(answer: str) -> bool:
    return bool(_DECLINES.search(answer)) and len(answer) < 160


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
            text = _MARKER.sub("", text).strip() + " " + "".join(f"[{n}]" for n in drafted)
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
        """Messages for the model, with as many passages as the context window holds."""
        gen = self.generator
        system = Message("system", SYSTEM_PROMPT[lang])
        turns = [Message(m.role, m.content) for m in history if m.role in ("user", "assistant")]
        asked = f"问题：{question}" if lang == "zh" else f"Question: {question}"
        # The question comes before the passages as well as after them: a small model
        # then reads the passages for it, and its answers kept more of their points
        # (dev set keyword hit, zh: 0.77 -> 0.80; README "Answers").
        head = f"{asked}\n\n" + ("资料：\n" if lang == "zh" else "Passages:\n")
        tail = "\n" + asked
        if hint:
            tail += f"\n（{hint}）" if lang == "zh" else f"\n(In the passages' language: {hint})"
        if lang == "en":
            tail += "\nAnswer in English."
        fixed = sum(gen.count_tokens(m.content) + 8 for m in (system, *turns))
        fixed += gen.count_tokens(head) + gen.count_tokens(tail)
        budget = gen.context_window - self.settings.llm.max_new_tokens - fixed - 64
        blocks: list[str] = []
        kept: list[Passage] = []
        for n, p in enumerate(passages, 1):
            label = f"[{n}] {p.source}" + (f" > {p.heading}" if p.heading else "")
            block = f"{label}\n{p.text}\n"
            cost = gen.count_tokens(block)
            if cost > budget:
                if budget > 50:  # what fits of this passage, cut between characters
                    p.text = _truncate_to_tokens(p.text, budget - gen.count_tokens(label) - 4, gen)
                    blocks.append(f"{label}\n{p.text}\n")
                    kept.append(p)
                break
            budget -= cost
            blocks.append(block)
            kept.append(p)
        user = Message("user", head + "\n".join(blocks) + tail)
        return [system, *turns, user], kept

    def _finish(
        self,
        raw: str,
        passages: list[Passage],
        *,
        lang: str,
        timings: dict[str, float],
        query: str,
    ) -> Answer:
        model = self.generator.name
        texts = [p.text for p in passages]
        text, cited = check_citations(raw, texts)
        if not text or declines(text):
            return Answer(refusal(lang), True, [], model, timings, query=query)
        # Checked sentence by sentence against every passage given (a supported sentence
        # with a wrong marker has had its marker moved above): a small model often states
        # the right fact and then embroiders it from its own knowledge.
        cfg = self.settings.answer
        flagged = False
        if cfg.grounding_action != "off":
            kept = supported_sentences(text, texts, threshold=cfg.grounding_threshold)
            if not kept:
                score = grounding_score(text, texts)
                if cfg.grounding_action == "refuse":
                    return Answer(refusal(lang), True, [], model, timings, True, score, query)
                flagged = True
            elif kept != text:
                if cfg.grounding_action == "refuse":
                    text, cited = check_citations(kept, texts)
                else:
                    flagged = True
        score = grounding_score(text, texts)
        if not cited:  # an uncited answer still names where it came from
            grams = bigrams(text)
            best = max(range(len(texts)), key=lambda i: len(grams & bigrams(texts[i])))
            cited = [best + 1]
            text = f"{text} [{best + 1}]"
        sources = [_source(n, passages[n - 1], text) for n in cited]
        return Answer(text, False, sources, model, timings, flagged, score, query)


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


def _truncate_to_tokens(text: str, tokens: int, generator: Generator) -> str:
    """The longest prefix of ``text`` within ``tokens`` tokens (binary search on characters)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if generator.count_tokens(text[:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _source(n: int, p: Passage, answer: str) -> Source:
    """The cited passage, with the sentence that best supports the answer as its quote."""
    start, end = _best_sentence(p.text, answer)
    return Source(
        n,
        p.source,
        p.page,
        p.heading,
        p.chunk_ids[0],
        p.start,
        p.end,
        p.text,
        start,
        end,
        list(p.chunk_ids),
    )


_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")


def _best_sentence(text: str, answer: str) -> tuple[int, int]:
    wanted = bigrams(_MARKER.sub(" ", answer))
    best, span = 0, (0, 0)
    for m in _SENTENCE.finditer(text):
        score = len(wanted & bigrams(m.group()))
        if score > best:
            best, span = score, (m.start(), m.end())
    return span
