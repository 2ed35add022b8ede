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

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.chat_records import (
    SCHEMA,
    SCHEMA_VERSION,
    SUMMARY_QUERY,
    TURN_QUERY,
    Conversation,
    StoredTurn,
    reply_json,
    title_of,
    turn_from_row,
)
from ingest.errors import ChatsUnavailableError, NotFoundError, TooLargeError
from ingest.store import now_iso

FILE = "conversations.sqlite"
MAX_CONVERSATIONS = 1000  # per owner and knowledge base
MAX_TURNS = 500  # per conversation
RATINGS = ("up", "down")


class ChatStore:
    """The conversations of one knowledge base. Thread-safe: a connection per call."""

    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled

    # ------------------------------------------------------------ conversations

    def conversations(self, owner: str) -> list[Conversation]:
        with self._db() as db:
            rows = db.execute(
                f"{SUMMARY_QUERY} WHERE c.owner = ? ORDER BY c.touched DESC", (owner,)
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
                (turn.id, conversation_id, turn.seq, question, reply_json(reply), now),
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
            row = db.execute(f"{TURN_QUERY} WHERE id = ?", (turn_id,)).fetchone()
        return turn_from_row(row)

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
                # Read on every call (the header's version: no table is read), not once:
                # a knowledge base deleted and made again from outside this process (the
                # CLI, another server) leaves a new, empty file under the same name.
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version != SCHEMA_VERSION:
                    self._prepare(db, version)
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

    def _prepare(self, db: sqlite3.Connection, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"written by a newer notesqa (schema {version})")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
        row = db.execute(f"{SUMMARY_QUERY} WHERE c.id = ?", (conversation_id,)).fetchone()
        return Conversation(*row)

    def _turns(self, db: sqlite3.Connection, conversation_id: str) -> list[StoredTurn]:
        rows = db.execute(
            f"{TURN_QUERY} WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
        )
        return [turn_from_row(row) for row in rows]

    def _touch(self, db: sqlite3.Connection, conversation_id: str, now: str) -> None:
        db.execute(
            "UPDATE conversations SET updated_at = ?, "
            "touched = (SELECT MAX(touched) + 1 FROM conversations) WHERE id = ?",
            (now, conversation_id),
        )
