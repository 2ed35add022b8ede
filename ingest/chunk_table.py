"""A version's chunk table, ``chunks.sqlite``: documents' cleaned texts and the chunks
in row order (row i is vector i), written once by a build; ``ingest.reader`` reads it."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from ingest.documents import Chunk

CHUNK_TABLE = "chunks.sqlite"

_SCHEMA = """
CREATE TABLE documents (source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, source TEXT NOT NULL,
    seq INTEGER NOT NULL, page INTEGER, heading TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'text'
);
CREATE INDEX chunks_source ON chunks (source, seq);
"""


def write_chunk_table(
    path: Path, chunks: Sequence[Chunk], texts: Mapping[str, tuple[str, str]]
) -> None:
    """``chunks`` in row order, grouped by document (``seq`` = position in it); ``texts``:
    source -> (sha256, cleaned text), read one at a time (a ``TextSpool``)."""
    db = sqlite3.connect(path)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?)",
            ((src, sha, text) for src, (sha, text) in texts.items()),  # streamed
        )
        seq: dict[str, int] = {}
        rows = []
        for row, c in enumerate(chunks):
            n = seq.get(c.source, 0)
            seq[c.source] = n + 1
            rows.append(
                (
                    *(row, c.chunk_id, c.source, n, c.page, c.heading),
                    *(c.start, c.end, c.text, c.origin),
                )
            )
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
    finally:
        db.close()
