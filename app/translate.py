"""Query translation for cross-language retrieval: a short, cached LLM call.

English questions over Chinese notes are where every available embedding model is
weakest; retrieving with both the question and its translation, fused, closes most of
that gap. Translation failures never fail a search: the original question is used.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from threading import Lock

from app.llm.base import GenerationRequest, Generator, Message
from ingest.errors import NotesQAError

log = logging.getLogger(__name__)

_TARGET = {"zh": "Simplified Chinese", "en": "English"}
_MAX_CACHE = 1024


class QueryTranslator:
    def __init__(self, generator: Generator, *, max_new_tokens: int = 96) -> None:
        self._generator = generator
        self._max_new_tokens = max_new_tokens
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = Lock()

    def translate(self, text: str, target: str) -> str | None:
        key = (text, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        messages = [
            Message(
                "system",
                f"Translate the user's search question into {_TARGET[target]}. Keep names, "
                "model names and numbers as they are. Reply with the translation only.",
            ),
            Message("user", text),
        ]
        request = GenerationRequest(messages, max_new_tokens=self._max_new_tokens)
        try:
            out = "".join(self._generator.stream(request))
        except NotesQAError as exc:
            log.warning("query translation failed, searching with the original: %s", exc)
            return None
        result = _first_line(out)
        if not result:
            return None
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > _MAX_CACHE:
                self._cache.popitem(last=False)
        return result


def _first_line(text: str) -> str:
    text = re.sub(r"^(translation|翻译)\s*[:：]\s*", "", text.strip(), flags=re.I)
    return text.strip().splitlines()[0].strip().strip('"“”') if text.strip() else ""
