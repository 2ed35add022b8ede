"""Starting an answer for a route: one generation slot, errors surfaced before streaming.

Shared by the native ``/api/ask`` and the OpenAI-compatible chat endpoint.
"""

from __future__ import annotations

from collections.abc import Generator

from app.answer import Answer
from app.api.gate import GenerationGate, Slot
from app.llm.base import Message
from app.service import Loaded

Events = Generator[str | Answer, None, None]


def start_answer(
    gate: GenerationGate,
    current: Loaded,
    question: str,
    *,
    history: list[Message],
    top_k: int | None = None,
    sources: list[str] | None = None,
) -> tuple[Slot, Events]:
    """Take a generation slot and run the answer up to its first event.

    Bad input and "busy" raise here, while a 4xx/503 can still be sent; the slot is then
    released. Otherwise the caller owns the slot and releases it when the events end.
    """
    slot = gate.acquire()
    try:
        events = current.answerer.stream(question, history=history, top_k=top_k, sources=sources)
        first = next(events)
    except BaseException:
        slot.release()
        raise
    return slot, _resumed(first, events)


def _resumed(first: str | Answer, events: Events) -> Events:
    """``first``, then the rest of ``events``; closing this closes them (stops the model)."""
    try:
        yield first
        yield from events
    finally:
        events.close()


def final_answer(slot: Slot, events: Events) -> Answer:
    """Drain the events to the final Answer, then give the slot back."""
    try:
        final = None
        for item in events:
            if isinstance(item, Answer):
                final = item
        assert final is not None, "Answerer.stream always ends with an Answer"
        return final
    finally:
        events.close()
        slot.release()
