"""The timed runs of ``bench/answer.py``: the served path as a streaming client sees it,
bare llama.cpp with the same arguments, and the verdict's model time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import _common  # noqa: F401  (first: offline models, `ingest` unshadowed)

if TYPE_CHECKING:
    from llama_cpp import Llama

    from app.answer import Answerer
    from app.llm.base import GenerationRequest, Generator, Message
    from app.llm.llama_cpp import LlamaCppGenerator
    from app.llm.supervised import SupervisedGenerator
    from app.settings import LLMSettings


class Fail(Exception):
    """A reason to stop that the user can act on."""


class RecordingGenerator:
    """Keeps the requests it is given and generates nothing.

    The answerer hands it the exact messages it would send the model; ``stream`` yields
    no text, so that warm-up costs no prompt evaluation, and gives no verdict.
    """

    writes_text = True
    judges = False

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.requests: list[GenerationRequest] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_window(self) -> int:
        return self.inner.context_window

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        return None

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        return iter(())


def verdict_times(
    worker: SupervisedGenerator, messages: Sequence[Message], runs: int
) -> dict[str, float]:
    """Model time of a refusal the verdict decides, from a cold cache (``cold_s``: the
    whole prompt pass and the verdict); what the verdict adds to the pass the answer
    needs anyway (``own_s``: ``cold_s`` less the answer's prompt pass alone, also from
    a cold cache; the service reads the verdict's prompt first and the answer reuses it);
    and the verdict once the answer's prompt is in llama.cpp's cache (``cached_s``: the
    tokens of its question, and the end of the prompt past its last whole block of
    ``llm.prompt_block`` tokens, read again)."""
    from app.answer.answerability import verdict_request
    from app.llm.base import GenerationRequest, complete

    request, options = verdict_request(messages)
    answer = GenerationRequest(list(messages), max_new_tokens=1)
    cold: list[float] = []
    alone: list[float] = []
    cached: list[float] = []
    for _ in range(runs):
        flush(worker)
        t0 = time.perf_counter()
        worker.judge(request, options)
        cold.append(time.perf_counter() - t0)
        flush(worker)
        # The answer's prompt alone (one token generated), then the verdict on top of it.
        t0 = time.perf_counter()
        complete(worker, answer)
        alone.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        worker.judge(request, options)
        cached.append(time.perf_counter() - t0)
    return {
        "cold_s": round(statistics.median(cold), 3),
        "own_s": round(statistics.median(cold) - statistics.median(alone), 3),
        "cached_s": round(statistics.median(cached), 3),
    }


def flush(worker: SupervisedGenerator) -> None:
    from app.llm.base import GenerationRequest, Message, complete

    complete(worker, GenerationRequest([Message("user", "你好")], max_new_tokens=1))


def served_run(
    answerer: Answerer, question: str, generator: Generator, limit: int
) -> dict[str, Any]:
    """TTFT and decode speed of ``Answerer.stream``, measured as a streaming client sees them."""
    from app.answer import Answer

    pieces: list[str] = []
    first = last = 0.0
    events = answerer.stream(question)
    start = time.perf_counter()  # the stream's body, retrieval included, starts at next()
    for event in events:
        now = time.perf_counter()
        if isinstance(event, Answer):
            if not pieces:
                why = event.refusal.reason if event.refusal else event.answer
                raise Fail(f"the answerer did not write an answer ({why})")
            break
        if not isinstance(event, str):
            continue  # a stage beginning (app.answer.Progress), not a word
        if not pieces:
            first = now
        pieces.append(event)
        last = now
        if limit and len(pieces) >= limit:
            break  # enough to measure decoding; closing stops llama.cpp like a hang-up
    close = getattr(events, "close", None)  # typed as an Iterator, in fact a generator
    if close is not None:
        close()
    # Retokenizing the text counts what was decoded (a piece can hold several tokens
    # when llama.cpp holds back an incomplete UTF-8 character).
    text = "".join(pieces)
    tokens = generator.count_tokens(text)
    rate = (tokens - 1) / (last - first) if tokens > 1 and last > first else None
    return {
        "ttft_s": round(first - start, 3),
        "tokens": tokens,
        "decode_tok_s": round(rate, 2) if rate is not None else None,
        "text": text,
    }


def bare_run(llm: Llama, messages: Sequence[Message], settings: LLMSettings) -> tuple[float, int]:
    """Time to the first streamed token, with the arguments ``LlamaCppGenerator`` passes."""
    chat: Any = [{"role": m.role, "content": m.content} for m in messages]
    t0 = time.perf_counter()
    chunks: Any = llm.create_chat_completion(
        messages=chat,
        max_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        repeat_penalty=settings.repetition_penalty,
        stream=True,
    )
    ttft = None
    for chunk in chunks:
        if chunk["choices"][0]["delta"].get("content"):
            ttft = time.perf_counter() - t0
            break
    chunks.close()
    if ttft is None:
        raise Fail("the bare model call produced no text")
    # Stopped right after the first sample: what llama.cpp evaluated is the prompt.
    return ttft, int(llm.n_tokens)


def llama_of(generator: LlamaCppGenerator) -> Llama:
    # LlamaCppGenerator has no public handle on its Llama; the bench needs one to clear
    # the prompt cache and to send the bare request through the very same instance.
    return generator._llm


def llama_build_level() -> str:
    from app.llm.crash import llama_build

    return llama_build().get("level", "unknown")
