"""Documents' cleaned texts on disk while a build runs, so they are never all in memory.

A build reads documents one at a time; each one's cleaned text is what the version's
document table stores (for previews and citations), but nothing else in the build needs
it again. The spool is a SQLite file beside the versions, ``.spool-<id>.sqlite``, read
back in order when the version is written, and removed after; one a killed build left
is removed by the next (which holds the index lock).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType


class TextSpool(Mapping[str, tuple[str, str]]):
    """source -> (sha256, cleaned text), on disk; iterates in source order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / f".spool-{uuid.uuid4().hex[:8]}.sqlite"
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> TextSpool:
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".spool-*.sqlite*"):
            stale.unlink(missing_ok=True)  # a killed build's; entered under the lock
        self._db = sqlite3.connect(self.path)
        # Scratch data: a crash loses nothing the next build cannot redo.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE texts (source TEXT PRIMARY KEY, sha256 TEXT, text TEXT)")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.path.unlink(missing_ok=True)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "TextSpool used outside its with block"
        return self._db

    def put(self, source: str, sha256: str, text: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO texts VALUES (?, ?, ?)", (source, sha256, text))

    def __getitem__(self, source: str) -> tuple[str, str]:
        row = self.db.execute(
            "SELECT sha256, text FROM texts WHERE source = ?", (source,)
        ).fetchone()
        if row is None:
            raise KeyError(source)
        return row[0], row[1]

    def __iter__(self) -> Iterator[str]:
        # fetched whole: names are small, and the caller may read texts while iterating
        return iter([r[0] for r in self.db.execute("SELECT source FROM texts ORDER BY source")])

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM texts").fetchone()[0])

    def items(self) -> Iterator[tuple[str, tuple[str, str]]]:  # type: ignore[override]
        """One row at a time, in source order (the Mapping default would look up each)."""
        cursor = self.db.execute("SELECT source, sha256, text FROM texts ORDER BY source")
        for source, sha256, text in cursor:
            yield source, (sha256, text)
