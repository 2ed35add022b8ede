"""The default generator: a GGUF model through llama-cpp-python, on the CPU.

The chat template comes from the GGUF file's metadata, so any instruct GGUF works
without telling notesqa its prompt format. The model loads once, at construction, so a
missing or broken file fails when the service starts rather than at the first question.
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
        self._formatter: Any = None  # the GGUF's chat template, built at the first verdict

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
            cached = llm.input_ids[: llm.n_tokens].tolist()
            prefix = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                prefix += 1
            # Evaluate at least the last token: its logits are what is read.
            llm.n_tokens = min(prefix, len(tokens) - 1)
            llm.eval(tokens[llm.n_tokens :])
            logits = np.ctypeslib.as_array(
                llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)
            )
            return option_probabilities(logits.tolist(), ids)

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
        messages: Any = [{"role": m.role, "content": m.content} for m in request.messages]
        with self._lock:
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
                for chunk in chunks:
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
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except ValueError as exc:  # llama-cpp-python's "Failed to load model from file"
        raise ModelUnavailableError(
            f"llama.cpp could not load {path} ({exc}); the file may be truncated or not a "
            f"GGUF model this llama.cpp supports; {FETCH_HINT} to get the default model again"
        ) from exc
