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
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.conversation import standalone_question
from app.lang import detect_lang, refusal
from app.llm.base import GenerationRequest, Generator, Message
from app.passages import Passage, assemble
from app.retrieve import Retriever
from app.settings import Settings
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

SYSTEM_PROMPT = {
    "zh": (
        "你是一个知识库问答助手。只根据下面编号的资料回答问题，用中文简洁作答，"
        "并在用到的句子后用 [1]、[2] 这样的编号注明出处。"
        "如果资料中没有答案，只回答：“知识库中没有找到相关内容。”不要编造。"
    ),
    "en": (
        "You answer questions from a knowledge base. Use only the numbered passages below, "
        "answer concisely in English, and cite the passages you use as [1], [2] after the "
        "sentences that use them. The passages may be in Chinese. If they do not contain "
        'the answer, reply only: "The knowledge base does not contain this." Never invent.'
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
    grams: set[str] = set()
    for run in _WORDS.findall(text.lower()):
        grams.update(run[i : i + 2] for i in range(len(run) - 1)) if len(run) > 1 else grams.add(
            run
        )
    return grams


def grounding_score(answer: str, passages: Sequence[str]) -> float:
    """Share of the answer's character bigrams that occur in the passages (0..1)."""
    grams = bigrams(_MARKER.sub(" ", answer))
    if not grams:
        return 1.0
    support: set[str] = set()
    for p in passages:
        support |= bigrams(p)
    return len(grams & support) / len(grams)


def check_citations(answer: str, count: int) -> tuple[str, list[int]]:
    """Drop markers that point at no passage; the passages cited, in order of first use."""
    cited: list[int] = []

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= count]
        for n in valid:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in valid)

    text = _MARKER.sub(keep, answer)
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
    ) -> Iterator[str | Answer]:
        """Text pieces as the model writes them, then one final ``Answer``."""
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
        messages, passages = self._prompt(question, lang, history, passages)
        request = GenerationRequest(
            messages, question=question, passages=[p.text for p in passages]
        )
        t0 = time.perf_counter()
        pieces: list[str] = []
        for piece in self.generator.stream(request):
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
            pieces.append(piece)
            yield piece
        timings["generate"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        yield self._finish("".join(pieces), passages, lang=lang, timings=timings, query=query)

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
        self, question: str, lang: str, history: Sequence[Message], passages: list[Passage]
    ) -> tuple[list[Message], list[Passage]]:
        """Messages for the model, with as many passages as the context window holds."""
        gen = self.generator
        system = Message("system", SYSTEM_PROMPT[lang])
        turns = [Message(m.role, m.content) for m in history if m.role in ("user", "assistant")]
        tail = f"\n问题：{question}" if lang == "zh" else f"\nQuestion: {question}"
        fixed = sum(gen.count_tokens(m.content) + 8 for m in (system, *turns)) + gen.count_tokens(
            tail
        )
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
        head = "资料：\n" if lang == "zh" else "Passages:\n"
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
        text, cited = check_citations(raw, len(passages))
        if not text or declines(text):
            return Answer(refusal(lang), True, [], model, timings, query=query)
        support = [passages[n - 1].text for n in cited] or [p.text for p in passages]
        score = grounding_score(text, support)
        cfg = self.settings.answer
        flagged = cfg.grounding_action != "off" and score < cfg.grounding_threshold
        if flagged and cfg.grounding_action == "refuse":
            return Answer(refusal(lang), True, [], model, timings, True, score, query)
        if not cited:  # an uncited answer still names where it came from
            best = max(
                range(len(passages)), key=lambda i: grounding_score(text, [passages[i].text])
            )
            cited = [best + 1]
            text = f"{text} [{best + 1}]"
        sources = [_source(n, passages[n - 1], text) for n in cited]
        return Answer(text, False, sources, model, timings, flagged, score, query)


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
