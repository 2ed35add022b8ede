"""What every generator backend offers: stream text for a chat, count tokens.

Backends (one module each, chosen in ``app.llm.make_generator``):
``llama_cpp`` (GGUF, default), ``transformers`` (HF folder or GGUF via gguf_file),
``openai`` (any OpenAI-compatible upstream) and ``extractive`` (no model at all).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A chat to continue.

    ``question`` and ``passages`` repeat what the messages hold in structured form, for
    backends that do not read prompts (the extractive one) and for grounding checks.
    ``cancel``, once set, asks the backend to stop at its next chance and end the stream:
    the API sets it when the client hangs up, from another thread than the one iterating.
    """

    messages: Sequence[Message]
    question: str = ""
    passages: Sequence[str] = field(default_factory=tuple)
    max_new_tokens: int | None = None  # None: the configured default
    cancel: threading.Event | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


@runtime_checkable
class Generator(Protocol):
    """A text generator. ``stream`` yields text pieces as they are produced.

    Capabilities are declared, not probed:

    - ``writes_text``: False for a backend that can only copy sentences from the passages
      (extractive); the answerer then never asks it to write or translate free text.
    - ``judges``: True when ``judge`` reads the model's own probabilities of a one-word
      verdict (the answerability check); ``judge`` of any other backend returns None.
    """

    writes_text: bool
    judges: bool

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    def stream(self, request: GenerationRequest) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        """How likely the reply to ``request`` starts with each of ``options`` (one word
        each, e.g. 是/否), normalised over them; None when this backend cannot tell."""
        ...


def option_probabilities(logits: Sequence[float], option_ids: Sequence[int]) -> list[float]:
    """Softmax over just the options' first tokens: a verdict among them, whatever else
    the model would have liked to say first."""
    chosen = [float(logits[i]) for i in option_ids]
    top = max(chosen)
    weights = [math.exp(x - top) for x in chosen]
    total = sum(weights)
    return [w / total for w in weights]


@dataclass(frozen=True, slots=True)
class Health:
    """Whether a generator can answer now; ``reason`` says why not."""

    state: Literal["ready", "starting", "degraded"]
    reason: str = ""


@runtime_checkable
class Monitored(Protocol):
    """A generator whose model runs somewhere that can go down (the supervised worker)."""

    restarts: int  # how often it came back after going down

    def health(self) -> Health: ...


@runtime_checkable
class Closeable(Protocol):
    """A generator holding something to let go of: a worker process, an HTTP client."""

    def close(self) -> None: ...


def complete(generator: Generator, request: GenerationRequest) -> str:
    """The whole reply at once."""
    return "".join(generator.stream(request))
