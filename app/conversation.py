"""Follow-up questions: rewrite "它的参数量呢?" into a question retrieval can use alone."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from app.llm.base import GenerationRequest, Generator, Message
from ingest.errors import NotesQAError

log = logging.getLogger(__name__)

# Words that point back into the conversation ("它的参数量呢？", "what about its size?").
_REFERS_BACK = re.compile(
    r"[它其该]|他们|她们|这个|那个|这些|那些|这种|那种|上面|前面|刚才|呢[？?]?$|"
    r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b",
    re.IGNORECASE,
)
_SHORT = 8  # characters; a question this short rarely stands alone ("参数量？")


def needs_context(question: str) -> bool:
    """Whether a question leans on the conversation before it."""
    return len(question.strip()) <= _SHORT or bool(_REFERS_BACK.search(question))


_INSTRUCTION = (
    "Rewrite the user's last question so that it can be understood without the "
    "conversation: replace pronouns and omissions with what they refer to. Keep its "
    "language. Reply with the rewritten question only."
)


def standalone_question(
    question: str, history: Sequence[Message], *, generator: Generator | None
) -> str:
    """The question made self-contained using ``history`` (unchanged when it already is).

    With a language model the rewrite is one short call. Without one (the extractive
    backend), the previous user question is prepended, which keeps its subject in the
    query.
    """
    earlier = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    # A question that stands on its own is searched as asked: rewriting it costs a model
    # call and, without a model, would drag the previous topic into an unrelated search.
    if not earlier or not needs_context(question):
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
