"""Follow-up questions: rewrite "它的参数量呢?" into a question retrieval can use alone."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from app.lang import bigrams
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
_CARRIED = 300  # characters of the previous question a follow-up is searched with


def needs_context(question: str) -> bool:
    """Whether a question leans on the conversation before it."""
    return len(question.strip()) <= _SHORT or bool(_REFERS_BACK.search(question))


_INSTRUCTION = (
    "Rewrite the user's last question so that it can be understood without the "
    "conversation: replace pronouns and omissions with what they refer to. Keep its "
    "language. Reply with the rewritten question only."
)


def follow_up_queries(
    question: str, history: Sequence[Message], *, generator: Generator | None
) -> list[str]:
    """What to search for ``question`` after ``history``: its standalone form first.

    With a language model the rewrite is one short call, searched alone. A rewrite that is
    no longer a question, or still points back ("它…"), is not used: the default 1.5B
    model answered or kept the pronoun in 7 of the 11 dev-set follow-ups it rewrote (README
    "Follow-ups"). The question is then searched as asked together with the previous
    user question followed by it, which keeps the subject; without a model, that joined
    form alone.
    """
    earlier = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    # A question that stands on its own is searched as asked: rewriting it costs a model
    # call and, without a model, would drag the previous topic into an unrelated search.
    if not earlier or not needs_context(question):
        return [question]
    last_user = next((m.content for m in reversed(earlier) if m.role == "user"), "")
    # Only the start of the previous question reaches retrieval: it names the subject,
    # and a 20,000-character turn once cost 41-46 s of retrieval.
    joined = f"{last_user[:_CARRIED]} {question}".strip()
    if generator is None or not generator.writes_text:
        return [joined]
    rewritten = _rewrite(question, earlier, generator)
    context = " ".join(m.content[:_CARRIED] for m in earlier[-6:])
    if rewritten is not None and plausible_rewrite(question, rewritten, context=context):
        return [rewritten]
    if rewritten is not None:
        # Debug only: questions are not logged unless asked (server.log_questions).
        log.debug("unusable rewrite of %r: %r", question, rewritten)
    return [question, joined]


def plausible_rewrite(question: str, rewritten: str, *, context: str = "") -> bool:
    """Whether ``rewritten`` can stand for the follow-up ``question`` on its own.

    With ``context`` (the earlier turns), the rewrite must also bring something of them
    into the question: the 1.5B model rewrote "它的优点和缺点是什么？" as "优点和缺点是什么？",
    the pronoun dropped and its subject with it, a question about nothing in particular."""
    asks = question.rstrip().endswith(("?", "？"))
    if asks and not rewritten.rstrip().endswith(("?", "？")):
        return False  # it answered instead
    if rewritten.strip() == question.strip() or _REFERS_BACK.search(rewritten):
        return False
    if context:
        added = bigrams(rewritten) - bigrams(question)
        return bool(added & bigrams(context))
    return True


def _rewrite(question: str, earlier: Sequence[Message], generator: Generator) -> str | None:
    transcript = "\n".join(f"{m.role}: {m.content[:500]}" for m in earlier[-6:])
    request = GenerationRequest(
        [
            Message("system", _INSTRUCTION),
            Message("user", f"Conversation:\n{transcript}\n\nLast question: {question}"),
        ],
        max_new_tokens=96,
    )
    try:
        lines = "".join(generator.stream(request)).strip().splitlines()
    except NotesQAError as exc:
        log.warning("could not rewrite the follow-up, using it as asked: %s", exc)
        return None
    return lines[0].strip() if lines and lines[0].strip() else None
