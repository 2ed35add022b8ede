"""Text generators; ``make_generator`` is the one place that picks the backend.

Each backend lives in its own module and imports its heavy library (llama-cpp-python,
torch/transformers) only when built, so the others work without it installed.
"""

from __future__ import annotations

from app.llm.base import GenerationRequest, Generator, Message, complete
from app.settings import LLMSettings
from ingest.errors import ConfigError

__all__ = [
    "GenerationRequest",
    "Generator",
    "Message",
    "complete",
    "make_generator",
    "make_local_generator",
]

LOCAL_BACKENDS = ("llama_cpp", "transformers")


def make_generator(settings: LLMSettings) -> Generator:
    """The configured backend, as the service and the CLI use it.

    The local backends run in a supervised worker process (``llm.isolation: process``):
    construction returns at once while the worker loads, and the worker's load error or
    crash surfaces as ``ModelUnavailableError`` on use and in ``health()``.
    """
    if settings.backend in LOCAL_BACKENDS and settings.isolation == "process":
        from app.llm.supervised import SupervisedGenerator

        return SupervisedGenerator(settings)
    return make_local_generator(settings)


def make_local_generator(settings: LLMSettings) -> Generator:
    """The configured backend in this process, loaded and ready.

    Raises ``ModelUnavailableError`` when its model file or optional dependency is
    missing (the message says what to install or run).
    """
    match settings.backend:
        case "llama_cpp":
            from app.llm.llama_cpp import LlamaCppGenerator

            return LlamaCppGenerator(settings)
        case "transformers":
            from app.llm.transformers_local import TransformersGenerator

            return TransformersGenerator(settings)
        case "openai":
            from app.llm.openai_compat import OpenAICompatGenerator

            return OpenAICompatGenerator(settings)
        case "extractive":
            from app.llm.extractive import ExtractiveGenerator

            return ExtractiveGenerator(context_window=settings.context_window)
        case other:
            raise ConfigError(
                f"unknown llm.backend {other!r}; use llama_cpp, transformers, openai or extractive"
            )
