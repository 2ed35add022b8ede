"""Answers in the script of the question: Traditional Chinese for a question written in it.

The model answers in Simplified whatever the question's script (its prompt says 用中文作答,
and most passages are Simplified), so a question asked in Traditional got its answer and
its refusal in the other script. The reply is converted at the edge, after every check:
grounding, citations and quotes read the model's own text (they compare folded, one-script
forms anyway), and the passages shown as sources keep the documents' own characters.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from functools import cache
from typing import Any

from app.answer.types import Answer, Progress
from ingest.clean import to_simplified


@cache
def _s2tw() -> Any:
    # Taiwan-standard characters (為, 裡), no change of vocabulary: the question's words
    # are the user's, only its script is followed.
    from opencc import OpenCC

    return OpenCC("s2tw")


def to_traditional(text: str) -> str:
    return str(_s2tw().convert(text))


def writes_traditional(question: str) -> bool:
    """Whether ``question`` is written in Traditional script: it has characters that
    only Traditional writes, and none that only Simplified writes (a name such as 乾隆
    reads the same in both)."""
    return to_simplified(question) != question and to_traditional(question) == question


Events = Generator[str | Progress | Answer, None, None]


def in_traditional(events: Events) -> Events:
    """An answer's events with its text in Traditional script.

    Pieces are converted as they stream, each on its own: a phrase split between two
    pieces can take a variant character there (头|发 -> 頭發, not 頭髮), so the final
    ``Answer``, converted whole, is the text to keep (the page shows it when it comes).
    """
    try:
        for event in events:
            if isinstance(event, str):
                yield to_traditional(event)
            elif isinstance(event, Answer):
                yield replace(event, answer=to_traditional(event.answer))
            else:
                yield event
    finally:
        events.close()  # a client that hung up stops the model, as without the conversion
