"""An index version opened for reading: FAISS vectors, the chunk table, the manifest."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ingest.documents import Chunk, Origin
from ingest.embed import Vectors
from ingest.manifest import Manifest
from ingest.vector_index import search_vectors


class LoadedIndex:
    """A version opened for reading: manifest, FAISS index and the chunk table."""

    def __init__(self, path: Path, *, ef_search: int | None = None) -> None:
        import faiss

        self.path = path
        self.ef_search = ef_search  # HNSW candidates per search (ingest.vector_index)
        self.manifest = Manifest.from_json((path / "manifest.json").read_text(encoding="utf-8"))
        self.faiss = faiss.read_index(str(path / "vectors.faiss"))
        # Read-only and shareable across the server's threads; the file never changes.
        uri = f"file:{path / 'chunks.sqlite'}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @property
    def version(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return int(self.faiss.ntotal)

    def _chunk(self, row: tuple[Any, ...]) -> Chunk:
        _, chunk_id, source, _, page, heading, start, end, text, *rest = row
        origin: Origin = rest[0] if rest else "text"  # format 1 has no origin column
        return Chunk(chunk_id, source, text, start, end, page, heading, origin)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """Chunks by FAISS row, in the order asked."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            r[0]: self._chunk(r)
            for r in self._db.execute(f"SELECT * FROM chunks WHERE row IN ({marks})", list(rows))
        }
        return [found[r] for r in rows]

    def rows_of(self, source: str) -> list[tuple[int, Chunk]]:
        cur = self._db.execute("SELECT * FROM chunks WHERE source = ? ORDER BY seq", (source,))
        return [(r[0], self._chunk(r)) for r in cur]

    def neighbours(self, row: int) -> tuple[int | None, int | None]:
        """Rows of the chunks before and after ``row`` in the same document."""
        found: list[int | None] = []
        for delta in (-1, 1):
            hit = self._db.execute(
                "SELECT b.row FROM chunks a JOIN chunks b "
                "ON a.source = b.source AND b.seq = a.seq + ? WHERE a.row = ?",
                (delta, row),
            ).fetchone()
            found.append(hit[0] if hit else None)
        return found[0], found[1]

    def all_chunks(self) -> Iterator[tuple[int, Chunk]]:
        for r in self._db.execute("SELECT * FROM chunks ORDER BY row"):
            yield r[0], self._chunk(r)

    def document_text(self, source: str) -> str | None:
        row = self._db.execute("SELECT text FROM documents WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def vectors(self, rows: Sequence[int]) -> Vectors:
        if not rows:
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        return np.vstack([self.faiss.reconstruct(int(r)) for r in rows]).astype(np.float32)

    def search(
        self, query: Vectors, k: int, *, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` nearest chunks, only among ``allowed`` rows if given."""
        return search_vectors(self.faiss, query, k, allowed=allowed, ef_search=self.ef_search)

    def close(self) -> None:
        self._db.close()
