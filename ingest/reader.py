"""An index version opened for reading: its vectors (``ingest.vector_store``), the chunk
table, the manifest."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ingest.chunk_table import CHUNK_TABLE
from ingest.documents import Chunk, Origin
from ingest.embed import Vectors
from ingest.manifest import Manifest
from ingest.vector_store import VectorReader


class LoadedIndex:
    """A version opened for reading: manifest, vectors and the chunk table."""

    def __init__(self, path: Path, *, vectors: VectorReader) -> None:
        self.path = path
        self.manifest = Manifest.from_json((path / "manifest.json").read_text(encoding="utf-8"))
        self._vectors = vectors
        # Read-only and shareable across the server's threads; the file never changes.
        uri = f"file:{path / CHUNK_TABLE}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @property
    def version(self) -> str:
        return self.path.name

    def __len__(self) -> int:
        return len(self._vectors)

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

    def headings(self, limit: int = 5000) -> list[tuple[str, str]]:
        """(source, breadcrumb) of the first ``limit`` chunks under a heading, in build
        order (bounded: read for the page's example questions)."""
        cur = self._db.execute(
            "SELECT source, heading FROM chunks WHERE heading != '' ORDER BY row LIMIT ?",
            (limit,),
        )
        return [(str(source), str(heading)) for source, heading in cur]

    def document_text(self, source: str) -> str | None:
        row = self._db.execute("SELECT text FROM documents WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def document_title(self, source: str) -> str:
        """The document's title as the build found it; "" when it has none."""
        record = self.manifest.documents.get(source)
        return record.title if record is not None else ""

    def vectors(self, rows: Sequence[int]) -> Vectors:
        """Stored vectors by row, in the order asked."""
        return self._vectors.vectors(rows)

    def search(
        self,
        query: Vectors,
        k: int,
        *,
        allowed: Sequence[int] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` nearest chunks, only among ``allowed`` rows if given
        (``sources``: the documents those rows are, for a backend filtering by source)."""
        return self._vectors.search(query, k, rows=allowed, sources=sources)

    def close(self) -> None:
        self._vectors.close()
        self._db.close()
