"""Feedback as evaluation items: a team turns what its users rated into test questions
for ``notesqa eval`` (the set format of ``app.evaluate``).

- **up, answered**: a ``factoid`` item whose ``evidence`` is what the answer quoted from
  each cited passage (verbatim, so retrieval is scored on it), ``positive_files`` the
  cited documents and ``answer`` the answer.
- **up, refused**: an ``unanswerable`` item (the user agreed nothing answers it).
- **down**: the answer was wrong or the refusal was; which, only a person can say. The
  item is ``type: "review"`` with what was said and cited, to be completed (evidence and
  keywords, or ``unanswerable``) before it counts: ``notesqa eval`` scores items
  without evidence on refusals only.

Every item keeps the earlier turns of its conversation as ``history`` (a follow-up is
asked as it was), and ``feedback`` holds the rating, the comment and when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.chat_records import StoredTurn
from app.lang import detect_lang

QUOTE_CHARS = 200  # evidence taken from a passage without a known quote: its start


def eval_items(
    rated: Iterable[tuple[StoredTurn, list[StoredTurn]]], *, rating: str | None = None
) -> Iterator[dict[str, Any]]:
    for turn, before in rated:
        if rating is not None and turn.rating != rating:
            continue
        yield eval_item(turn, before)


def as_jsonl(items: Iterable[dict[str, Any]]) -> str:
    """The items as an evaluation set file: one JSON object a line, text as written."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def eval_item(turn: StoredTurn, before: list[StoredTurn]) -> dict[str, Any]:
    reply = turn.reply
    refused = bool(reply.get("refused"))
    answer = str(reply.get("answer") or "")
    sources = [s for s in reply.get("sources") or [] if isinstance(s, dict)]
    files = sorted({str(s.get("source")) for s in sources if s.get("source")})
    item: dict[str, Any] = {
        "id": f"feedback-{turn.id[:12]}",
        "question": turn.question,
        "lang": detect_lang(turn.question),
    }
    if turn.rating == "up" and refused:
        item["type"] = "unanswerable"
    elif turn.rating == "up":
        item |= {
            "type": "factoid",
            "evidence": [q for q in (_quote(s) for s in sources) if q],
            "positive_files": files,
            "answer": answer,
            "keywords": [],
        }
    else:
        item |= {"type": "review", "answer": answer, "refused": refused, "cited": files}
    history = []
    for earlier in before:
        earlier_answer = earlier.reply.get("answer")
        if earlier.reply.get("refused") or not isinstance(earlier_answer, str):
            continue  # the page leaves refusals out of the history it sends, too
        history += [
            {"role": "user", "content": earlier.question},
            {"role": "assistant", "content": earlier_answer},
        ]
    if history:
        item["history"] = history
    item["feedback"] = {"rating": turn.rating, "comment": turn.comment, "at": turn.rated_at}
    return item


def _quote(source: dict[str, Any]) -> str:
    """What the answer quoted from a passage; without a known quote, the passage's start."""
    text = source.get("text")
    if not isinstance(text, str):
        return ""
    start, end = source.get("quote_start"), source.get("quote_end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return text[start:end].strip()
    return text[:QUOTE_CHARS].strip()
