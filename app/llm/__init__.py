"""Text generators; ``make_generator`` is the one place that picks the backend.

Each backend lives in its own module and imports its heavy library (llama-cpp-python,
torch/transformers) only when built, so the others work without it installed.
"""

from __future__ import annotations

from app.llm.base import GenerationRequest, Generator, Message, complete
from app.settings import LLMSettings
from ingest.errors import ConfigError

__all__ = ["GenerationRequest", "Generator", "Message", "complete", "make_generator"]


def make_generator(settings: LLMSettings) -> Generator:
    """The configured backend, loaded and ready.

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
