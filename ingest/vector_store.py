"""Where a version's vectors live: a FAISS file in the version folder (the default) or a
Milvus collection (``ingest.milvus_store``), behind the same two roles.

- ``VectorStore``: how a build writes a version's vectors, and how a version's vectors
  are checked, dropped with the version, and swept when a killed build left them behind.
- ``VectorReader``: one version's vectors opened for reading: nearest rows (filtered),
  stored vectors read back by row.

Everything else of a version (manifest, chunk table, BM25 index) stays in its folder
whatever the backend. A version's manifest records where its vectors are
(``Manifest.vector_store``) and it is read from there, so versions written before
``store.backend`` changed keep serving until the next build writes the new backend.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ingest.documents import Chunk
from ingest.embed import Vectors
from ingest.manifest import Manifest
from ingest.vector_index import VectorIndexOptions, build_vector_index, kind_of, search_vectors

Backend = Literal["faiss", "milvus"]
FAISS_FILE = "vectors.faiss"


@dataclass(frozen=True, slots=True)
class MilvusOptions:
    # A Milvus server ("http://host:19530") or a Milvus Lite file (a path ending in .db,
    # embedded: one process at a time).
    uri: str
    token: str | None = field(default=None, repr=False)
    collection_prefix: str = "notesqa_"


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """How an ``IndexStore`` writes vectors: the backend and its settings."""

    backend: Backend = "faiss"
    vectors: VectorIndexOptions = field(default_factory=VectorIndexOptions)  # both backends
    milvus: MilvusOptions | None = None  # required by backend "milvus"


class VectorReader(Protocol):
    def __len__(self) -> int: ...

    def search(
        self,
        query: Vectors,
        k: int,
        *,
        rows: Sequence[int] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the ``k`` nearest rows; with a filter, only among ``rows``,
        which are exactly the chunks of ``sources`` (each backend uses the form it
        filters by: FAISS rows, Milvus a filter expression on the source field)."""
        ...

    def vectors(self, rows: Sequence[int]) -> Vectors: ...

    def close(self) -> None: ...


class VectorStore(Protocol):
    backend: Backend

    def write(
        self, folder: Path, vectors: Vectors, chunks: Sequence[Chunk], manifest: Manifest
    ) -> None:
        """Write a new version's vectors (row i is ``chunks[i]``), recording where in
        ``manifest.vector_store`` and the index kind in ``manifest.vector_index``. A
        failure leaves nothing behind."""
        ...

    def open(self, folder: Path, manifest: Manifest) -> VectorReader: ...

    def problem(self, folder: Path, manifest: Manifest) -> str | None:
        """What is wrong with a version's vectors beyond its checksummed files (a
        collection missing or short), in a few words; None when intact."""
        ...

    def drop(self, manifest: Manifest) -> None:
        """Remove a version's vectors held outside its folder (the folder goes too)."""
        ...

    def sweep(self, keep: Collection[str]) -> None:
        """Remove this index's vectors that no version names (``keep``: the names the
        versions' manifests record): what a killed build left."""
        ...


def backend_of(manifest: Manifest) -> Backend:
    """Where a version's vectors are; manifests written before Milvus say nothing: FAISS."""
    return "milvus" if manifest.vector_store.get("backend") == "milvus" else "faiss"


def vector_store(backend: Backend, options: StoreOptions, *, index_root: Path) -> VectorStore:
    """The one place a backend name becomes a store (heavy imports stay lazy)."""
    if backend == "faiss":
        return FaissStore(options.vectors)
    from ingest.milvus_store import MilvusStore

    return MilvusStore(options, index_root=index_root)


class FaissStore:
    """Vectors in the version folder as one FAISS index (flat or HNSW)."""

    backend: Backend = "faiss"

    def __init__(self, options: VectorIndexOptions) -> None:
        self.options = options

    def write(
        self, folder: Path, vectors: Vectors, chunks: Sequence[Chunk], manifest: Manifest
    ) -> None:
        import faiss

        index = build_vector_index(vectors, manifest.dim, self.options)
        manifest.vector_index = kind_of(index)
        manifest.vector_store = {"backend": "faiss"}
        faiss.write_index(index, str(folder / FAISS_FILE))

    def open(self, folder: Path, manifest: Manifest) -> VectorReader:
        return FaissReader(folder / FAISS_FILE, ef_search=self.options.hnsw_ef_search)

    def problem(self, folder: Path, manifest: Manifest) -> str | None:
        return None  # the file is in the folder: ingest.integrity checks it and its checksum

    def drop(self, manifest: Manifest) -> None:
        pass  # the file goes with its folder

    def sweep(self, keep: Collection[str]) -> None:
        pass  # a killed build's files go with its temporary folder


class FaissReader:
    def __init__(self, path: Path, *, ef_search: int | None = None) -> None:
        import faiss

        self.index = faiss.read_index(str(path))
        self.ef_search = ef_search  # HNSW candidates per search (ingest.vector_index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(
        self,
        query: Vectors,
        k: int,
        *,
        rows: Sequence[int] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        return search_vectors(self.index, query, k, allowed=rows, ef_search=self.ef_search)

    def vectors(self, rows: Sequence[int]) -> Vectors:
        import numpy as np

        if not rows:
            return np.zeros((0, self.index.d), dtype=np.float32)
        return np.vstack([self.index.reconstruct(int(r)) for r in rows]).astype(np.float32)

    def close(self) -> None:
        pass
