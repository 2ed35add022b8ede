"""The default generator: a GGUF model through llama-cpp-python, on the CPU.

The chat template comes from the GGUF file's metadata, so any instruct GGUF works
without telling notesqa its prompt format. The model loads once, at construction, so a
missing or broken file fails when the service starts rather than at the first question.

Same question, same answer: llama.cpp keeps the last prompt's tokens in its context and
evaluates only what differs, but a token's logits depend on the batch it was evaluated
in, so reusing an arbitrary prefix changed them (by up to 0.45 after a 19-token shared
system prompt), and greedy decoding then took another path: a held-out question was
answered alone and refused after the question before it. Prompts are evaluated in blocks
of ``llm.prompt_block`` tokens from the start, and only whole blocks that a prompt (not
generation) left in the context are reused; the logits then equal those of an empty
context bit for bit. Measured on 2 cores, blocks of 64 evaluate as fast as 512 (70
tokens/s), and reuse loses at most 63 tokens per prompt. One exception keeps the
verdict cheap: the answer right after its verdict reuses everything the two prompts
share, since the verdict's prompt was itself evaluated from whole blocks, so what the
answer reads depends on its question alone (README "Speed, measured").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.llm.base import GenerationRequest, option_probabilities
from app.settings import LLMSettings
from ingest.errors import InputError, ModelUnavailableError

if TYPE_CHECKING:
    from llama_cpp import Llama

# At most this many tokens of an answer's prompt follow what it shares with its verdict's.
_ANSWER_TAIL = 8
INSTALL_HINT = "run `make install` (it builds llama-cpp-python for a named CPU level)"
FETCH_HINT = "run `make install` or `notesqa models fetch`"


class LlamaCppGenerator:
    """Streams chat completions from a GGUF file; one generation at a time."""

    writes_text = True
    judges = True

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._path = Path(settings.model_path)
        # The service serializes generation already; the lock keeps a stray second
        # caller from interleaving with the first inside llama.cpp's single context.
        self._lock = threading.Lock()
        self._llm = _load(self._path, settings)
        self._formatter: Any = None  # the GGUF's chat template, built at the first prompt
        # How many tokens at the start of the context a prompt evaluation put there: the
        # generated ones after them were evaluated one by one, and are never reused.
        self._prompted = 0
        # The verdict's prompt while it is the last one evaluated: the answer that follows
        # it reuses all they share (the module's docstring).
        self._judged: list[int] | None = None

    @property
    def name(self) -> str:
        return f"llama_cpp:{self._path.name}"

    @property
    def context_window(self) -> int:
        return self._settings.context_window

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        """The options' probabilities as the first token of the reply, from one prompt pass.

        The prompt is formatted exactly as ``create_chat_completion`` formats it, and
        only what differs from the tokens already in llama.cpp's context is evaluated: a
        verdict asked on the answer's prompt plus a question costs the question's few
        dozen tokens, and the answer that follows reuses the passages' cache in turn.
        """
        import numpy as np
        from llama_cpp import llama_get_logits_ith

        llm = self._llm
        tokens = self._chat_tokens(request)
        if len(tokens) >= self._settings.context_window:
            raise InputError(
                f"the prompt does not fit the model's context window "
                f"({self._settings.context_window} tokens); raise llm.context_window"
            )
        ids = [llm.tokenize(o.encode("utf-8"), add_bos=False, special=False)[0] for o in options]
        with self._lock:
            llm.n_tokens = self._reusable(tokens)
            llm.eval(tokens[llm.n_tokens :])
            self._prompted = len(tokens)
            self._judged = tokens
            logits = np.ctypeslib.as_array(
                llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)
            )
            return option_probabilities(logits.tolist(), ids)

    def _reusable(self, tokens: list[int]) -> int:
        """How many tokens in the context a prompt can keep: its common prefix with what
        the last prompt evaluated, less the last token (its logits are what is read),
        cut to whole blocks (the module's docstring says why)."""
        llm = self._llm
        cached = llm.input_ids[: min(llm.n_tokens, self._prompted)].tolist()
        prefix = _common_prefix(cached, tokens)
        block = self._settings.prompt_block
        return prefix // block * block if block else prefix

    def _after_verdict(self, tokens: list[int]) -> int:
        """An answer right after its verdict keeps every token the two prompts share: the
        verdict's prompt was evaluated from whole blocks, so what the answer then reads
        depends on the question alone, and it costs the few tokens after the passages.

        Only the answer's own prompt qualifies: the verdict's without its question, they
        differ in the closing turn markers alone (6 tokens with the default model's
        template). Any other prompt right after a verdict (the next question's, when the
        verdict refused) would depend on the question before it, and reads whole blocks.
        """
        judged, self._judged = self._judged, None
        if judged is None or not self._settings.prompt_block:
            return self._reusable(tokens)
        shared = _common_prefix(judged, tokens)
        if len(tokens) - shared > _ANSWER_TAIL:
            return self._reusable(tokens)
        return max(self._reusable(tokens), shared)

    def _evaluated(self, prompt: list[int], kept: int, block: int) -> int:
        """How much of the context a later prompt may treat as read from whole blocks,
        after ``prompt`` was evaluated from ``kept``: all of it when it started at a block;
        past the verdict's whole blocks, what it kept of the verdict holds for this prompt
        only. Nothing, should llama-cpp-python have tokenized the prompt otherwise."""
        if self._llm.input_ids[: len(prompt)].tolist() != prompt:
            return 0
        return len(prompt) if kept % block == 0 else kept

    def _chat_tokens(self, request: GenerationRequest) -> list[int]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        if self._formatter is None:
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelUnavailableError(f"{self._path.name} has no chat template")

            def text(token: int) -> str:
                return llm._model.token_get_text(token) if token != -1 else ""

            # As llama-cpp-python builds its handler for the GGUF's template.
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=text(llm.token_eos()),
                bos_token=text(llm.token_bos()),
                stop_token_ids=[llm.token_eos()],
            )
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        result = self._formatter(messages=messages)
        return list(
            llm.tokenize(
                result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
            )
        )

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        settings = self._settings
        block = settings.prompt_block or 1
        messages: Any = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt = self._chat_tokens(request)  # as create_chat_completion formats it
        with self._lock:
            # llama-cpp-python reuses the longest prefix within the first n_tokens.
            kept = self._llm.n_tokens = self._after_verdict(prompt)
            self._prompted = 0  # until its prompt is evaluated again
            chunks = cast(
                Iterator[dict[str, Any]],
                self._llm.create_chat_completion(
                    messages=messages,
                    max_tokens=request.max_new_tokens or settings.max_new_tokens,
                    temperature=settings.temperature,  # 0 is greedy in llama.cpp's sampler
                    top_p=settings.top_p,
                    repeat_penalty=settings.repetition_penalty,
                    stream=True,
                ),
            )
            try:
                for n, chunk in enumerate(chunks):
                    if n == 0:  # the first piece comes after the prompt was evaluated
                        self._prompted = self._evaluated(prompt, kept, block)
                    if request.cancelled:
                        return
                    content = chunk["choices"][0]["delta"].get("content")
                    if content:
                        yield content
            except ValueError as exc:
                if "exceed context window" in str(exc):
                    raise InputError(
                        f"the prompt does not fit the model's context window "
                        f"({settings.context_window} tokens): {exc}; shorten the question "
                        "or the history, or raise llm.context_window"
                    ) from exc
                raise
            finally:
                # Closing stops llama.cpp at once when the client goes away mid-answer.
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()


def _common_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    """Tokens two sequences share from the start, never the whole of ``tokens``: its last
    token is evaluated again for the logits that are read."""
    prefix = 0
    for a, b in zip(cached, tokens[:-1], strict=False):
        if a != b:
            break
        prefix += 1
    return prefix


def default_threads() -> int:
    """Every core this process may use.

    llama-cpp-python defaults to half of ``cpu_count()`` to skip hyper-threads, which on a
    small VM leaves cores idle: on an idle 2-core VM the default model decodes 28.5 tokens/s
    with 2 threads against 18.8 with llama-cpp-python's 1. On a machine busy with other
    work it turns around (llama.cpp's threads wait for each other at every step, so one
    descheduled thread stalls them all); set ``llm.threads`` lower there.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _load(path: Path, settings: LLMSettings) -> Llama:
    if not path.is_file():
        raise ModelUnavailableError(f"model file not found: {path}; {FETCH_HINT}")
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the llama_cpp backend needs llama-cpp-python ({exc}); {INSTALL_HINT}"
        ) from exc
    threads = settings.threads or default_threads()
    try:
        return Llama(
            model_path=str(path),
            n_ctx=settings.context_window,
            # Whole blocks are what a later prompt may reuse (the module's docstring);
            # 512 is llama-cpp-python's own default.
            n_batch=settings.prompt_block or 512,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
        raise ModelUnavailableError(
            f"llama.cpp could not load {path} ({exc}); the file may be truncated or not a "
            f"GGUF model this llama.cpp supports; {FETCH_HINT} to get the default model again"
        ) from exc
