"""Conversations kept on the server: one SQLite file per knowledge base, beside its index
(``index_dir/<kb>/conversations.sqlite``), so a reload or another device finds them.

A conversation belongs to its *owner*: the API key it was made with (a hash of it,
never the key), or everyone when the server has no keys. A turn is the question and the
ask reply as the page received it (answer, sources with their text, refusal), so a
conversation is shown again exactly as it was answered; feedback (a rating and an
optional comment) is kept on its turn. ``app.feedback_export`` turns feedback into
evaluation items.

The file goes with its knowledge base (``notesqa kb delete``). When it cannot be
written (``server.conversations: browser``, or a read-only folder) every call raises
``ChatsUnavailableError`` and the page keeps conversations in the browser instead.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.clean import one_line
from ingest.errors import ChatsUnavailableError, NotFoundError, TooLargeError
from ingest.store import now_iso

FILE = "conversations.sqlite"
SCHEMA_VERSION = 1  # PRAGMA user_version; a file of a newer notesqa is not written
TITLE_CHARS = 120  # a title made from the first question is clipped to this
MAX_CONVERSATIONS = 1000  # per owner and knowledge base
MAX_TURNS = 500  # per conversation
RATINGS = ("up", "down")

_SCHEMA = """
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
_TURN = "SELECT id, seq, question, reply, created_at, rating, comment, rated_at FROM turns"
_SUMMARY = (
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


class ChatStore:
    """The conversations of one knowledge base. Thread-safe: a connection per call."""

    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        self._ready = False

    # ------------------------------------------------------------ conversations

    def conversations(self, owner: str) -> list[Conversation]:
        with self._db() as db:
            rows = db.execute(
                f"{_SUMMARY} WHERE c.owner = ? ORDER BY c.touched DESC", (owner,)
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def create(self, owner: str, title: str) -> Conversation:
        with self._db() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM conversations WHERE owner = ?", (owner,)
            ).fetchone()
            if count >= MAX_CONVERSATIONS:
                raise TooLargeError(
                    f"{MAX_CONVERSATIONS} conversations are kept per key and knowledge base: "
                    "delete some first"
                )
            now = now_iso()
            conversation = Conversation(uuid.uuid4().hex, title_of(title), now, now, 0)
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, "
                "(SELECT COALESCE(MAX(touched), 0) + 1 FROM conversations))",
                (conversation.id, owner, conversation.title, now, now),
            )
        return conversation

    def get(self, owner: str, conversation_id: str) -> tuple[Conversation, list[StoredTurn]]:
        with self._db() as db:
            self._require(db, owner, conversation_id)
            turns = self._turns(db, conversation_id)
            conversation = self._conversation(db, conversation_id)
        return conversation, turns

    def rename(self, owner: str, conversation_id: str, title: str) -> Conversation:
        with self._db() as db:
            self._require(db, owner, conversation_id)
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (title_of(title), conversation_id),
            )
            return self._conversation(db, conversation_id)

    def delete(self, owner: str, conversation_id: str) -> None:
        with self._db() as db:
            self._require(db, owner, conversation_id)
            # Its turns go with it: ON DELETE CASCADE (foreign keys are on in _db).
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # ------------------------------------------------------------ turns

    def add_turn(
        self, owner: str, conversation_id: str, question: str, reply: dict[str, Any]
    ) -> StoredTurn:
        with self._db() as db:
            self._require(db, owner, conversation_id)
            count, last = db.execute(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM turns WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            if count >= MAX_TURNS:
                raise TooLargeError(
                    f"a conversation keeps at most {MAX_TURNS} turns: start a new one"
                )
            now = now_iso()
            turn = StoredTurn(uuid.uuid4().hex, last + 1, question, reply, now)
            db.execute(
                "INSERT INTO turns (id, conversation_id, seq, question, reply, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (turn.id, conversation_id, turn.seq, question, _json(reply), now),
            )
            self._touch(db, conversation_id, now)
        return turn

    def truncate(self, owner: str, conversation_id: str, turn_id: str) -> int:
        """Delete a turn and every later one (a question edited and asked again);
        how many went."""
        with self._db() as db:
            seq = self._turn_seq(db, owner, conversation_id, turn_id)
            gone = db.execute(
                "DELETE FROM turns WHERE conversation_id = ? AND seq >= ?",
                (conversation_id, seq),
            ).rowcount
            self._touch(db, conversation_id, now_iso())
        return int(gone)

    def rate(
        self, owner: str, conversation_id: str, turn_id: str, rating: str | None, comment: str
    ) -> StoredTurn:
        """Keep (or with ``rating`` None, clear) the feedback on a turn."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(rating)  # the API's schema allows only RATINGS
        with self._db() as db:
            self._turn_seq(db, owner, conversation_id, turn_id)
            db.execute(
                "UPDATE turns SET rating = ?, comment = ?, rated_at = ? WHERE id = ?",
                (rating, comment if rating else "", now_iso() if rating else None, turn_id),
            )
            row = db.execute(f"{_TURN} WHERE id = ?", (turn_id,)).fetchone()
        return _turn(row)

    def rated(self) -> list[tuple[StoredTurn, list[StoredTurn]]]:
        """Every turn with feedback, of every owner, with the turns before it in its
        conversation (oldest first); conversations in the order they were made, turns
        in theirs. For ``app.feedback_export``."""
        found: list[tuple[StoredTurn, list[StoredTurn]]] = []
        with self._db() as db:
            rated = db.execute(
                "SELECT c.id FROM conversations c WHERE EXISTS (SELECT 1 FROM turns t "
                "WHERE t.conversation_id = c.id AND t.rating IS NOT NULL) ORDER BY c.rowid"
            ).fetchall()
            for (conversation_id,) in rated:  # each conversation read once
                turns = self._turns(db, conversation_id)
                found += [(t, turns[:n]) for n, t in enumerate(turns) if t.rating is not None]
        return found

    # ------------------------------------------------------------ the file

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self.enabled:
            raise ChatsUnavailableError(
                "this server does not keep conversations (server.conversations: browser); "
                "the page keeps them in the browser"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable(exc) from exc
        with closing(db):
            try:
                db.execute("PRAGMA foreign_keys = ON")
                if not self._ready:
                    self._prepare(db)
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            try:
                yield db
            except sqlite3.Error as exc:  # a damaged file, a full disk: not a 500
                db.execute("ROLLBACK")
                raise self._unavailable(exc) from exc
            except BaseException:
                db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc

    def _prepare(self, db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"written by a newer notesqa (schema {version})")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._ready = True

    def _unavailable(self, exc: Exception) -> ChatsUnavailableError:
        return ChatsUnavailableError(
            f"conversations cannot be kept in {self.path} ({exc}); "
            "the page keeps them in the browser"
        )

    def _require(self, db: sqlite3.Connection, owner: str, conversation_id: str) -> None:
        row = db.execute(
            "SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
        ).fetchone()
        if row is None:  # another key's conversation is as absent as a deleted one
            raise NotFoundError(f"no conversation {conversation_id[:64]!r}")

    def _turn_seq(
        self, db: sqlite3.Connection, owner: str, conversation_id: str, turn_id: str
    ) -> int:
        self._require(db, owner, conversation_id)
        row = db.execute(
            "SELECT seq FROM turns WHERE id = ? AND conversation_id = ?",
            (turn_id, conversation_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no turn {turn_id[:64]!r} in this conversation")
        return int(row[0])

    def _conversation(self, db: sqlite3.Connection, conversation_id: str) -> Conversation:
        row = db.execute(f"{_SUMMARY} WHERE c.id = ?", (conversation_id,)).fetchone()
        return Conversation(*row)

    def _turns(self, db: sqlite3.Connection, conversation_id: str) -> list[StoredTurn]:
        rows = db.execute(f"{_TURN} WHERE conversation_id = ? ORDER BY seq", (conversation_id,))
        return [_turn(row) for row in rows]

    def _touch(self, db: sqlite3.Connection, conversation_id: str, now: str) -> None:
        db.execute(
            "UPDATE conversations SET updated_at = ?, "
            "touched = (SELECT MAX(touched) + 1 FROM conversations) WHERE id = ?",
            (now, conversation_id),
        )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _turn(row: tuple[Any, ...]) -> StoredTurn:
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
