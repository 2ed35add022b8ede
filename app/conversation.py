"""Follow-up questions: rewrite "它的参数量呢?" into a question retrieval can use alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.llm.base import GenerationRequest, Generator, Message
from ingest.errors import NotesQAError

log = logging.getLogger(__name__)

_INSTRUCTION = (
    "Rewrite the user's last question so that it can be understood without the "
    "conversation: replace pronouns and omissions with what they refer to. Keep its "
    "language. Reply with the rewritten question only."
)


def standalone_question(
    question: str, history: Sequence[Message], *, generator: Generator | None
) -> str:
    """The question made self-contained using ``history`` (unchanged when there is none).

    With a language model the rewrite is one short call. Without one (the extractive
    backend), the previous user question is prepended, which keeps its subject in the
    query.
    """
    earlier = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    if not earlier:
        return question
    if generator is None or generator.name == "extractive":
        last_user = next((m.content for m in reversed(earlier) if m.role == "user"), "")
        return f"{last_user} {question}".strip()
    transcript = "\n".join(f"{m.role}: {m.content[:500]}" for m in earlier[-6:])
    request = GenerationRequest(
        [
            Message("system", _INSTRUCTION),
            Message("user", f"Conversation:\n{transcript}\n\nLast question: {question}"),
        ],
        max_new_tokens=96,
    )
    try:
        rewritten = "".join(generator.stream(request)).strip().splitlines()
    except NotesQAError as exc:
        log.warning("could not rewrite the follow-up, using it as asked: %s", exc)
        return question
    return rewritten[0].strip() if rewritten and rewritten[0].strip() else question
