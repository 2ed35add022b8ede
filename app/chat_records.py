"""What a kept conversation is: its records, the tables they are kept in, and the
mapping between the two. ``app.chat_store`` does the keeping; the API's schemas and
``app.feedback_export`` read these records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ingest.clean import one_line

SCHEMA_VERSION = 1  # PRAGMA user_version; a file of a newer notesqa is not written
TITLE_CHARS = 120  # a title made from the first question is clipped to this

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    touched INTEGER NOT NULL DEFAULT 0 -- orders the list: timestamps tie within a second
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, touched);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    question TEXT NOT NULL,
    reply TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rating TEXT,
    comment TEXT NOT NULL DEFAULT '',
    rated_at TEXT
);
CREATE INDEX IF NOT EXISTS turns_conversation ON turns (conversation_id, seq);
"""
TURN_QUERY = "SELECT id, seq, question, reply, created_at, rating, comment, rated_at FROM turns"
SUMMARY_QUERY = (
    "SELECT c.id, c.title, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) FROM conversations c"
)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


@dataclass(frozen=True, slots=True)
class StoredTurn:
    id: str
    seq: int
    question: str
    reply: dict[str, Any]
    created_at: str
    rating: str | None = None
    comment: str = ""
    rated_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        feedback = None
        if self.rating is not None:
            feedback = {"rating": self.rating, "comment": self.comment, "at": self.rated_at}
        return {
            "id": self.id,
            "question": self.question,
            "reply": self.reply,
            "created_at": self.created_at,
            "feedback": feedback,
        }


def title_of(question: str) -> str:
    """A conversation's title from its first question: one line, clipped."""
    return one_line(question, TITLE_CHARS)


def reply_json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def turn_from_row(row: tuple[Any, ...]) -> StoredTurn:
    turn_id, seq, question, reply, created_at, rating, comment, rated_at = row
    try:
        data = json.loads(reply)
    except ValueError:
        data = {}
    return StoredTurn(
        turn_id,
        int(seq),
        question,
        data if isinstance(data, dict) else {},
        created_at,
        rating,
        comment or "",
        rated_at,
    )
