"""Embeddings kept by model and chunk text, so a build never embeds the same text twice.

A build that is killed (Ctrl-C, a crash, a full disk) has written every batch it
finished to the cache, so the next build embeds only what is left; a document that was
edited re-embeds only the chunks whose text changed. The cache is one SQLite file in the
index folder (``.embeddings.sqlite``, beside the versions, never part of one); after a
build publishes, it keeps only the texts of the version it published.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ingest.embed import Embedder, Vectors

CACHE_FILE = ".embeddings.sqlite"
BATCH = 256  # texts embedded, then written, at a time: what a killed build can lose


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors of one model (by its name and dimension) by text key."""

    def __init__(self, folder: Path, model: str, dim: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(folder / CACHE_FILE)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, key))"
        )
        self.model = f"{model}#{dim}"
        self.dim = dim

    def get(self, keys: Sequence[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            part = list(keys[start : start + 500])
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                [self.model, *part],
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if len(vector) == self.dim:
                    found[key] = vector
        return found

    def put(self, keys: Sequence[str], vectors: Vectors) -> None:
        rows = [
            (self.model, k, np.asarray(v, np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
        self._db.commit()

    def keep_only(self, keys: Sequence[str]) -> None:
        """Forget every vector but those of ``keys`` (and every other model's)."""
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY)")
        self._db.execute("DELETE FROM kept")
        self._db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", [(k,) for k in keys])
        self._db.execute(
            "DELETE FROM vectors WHERE model = ? AND key NOT IN (SELECT key FROM kept)",
            (self.model,),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache,
    *,
    reuse: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[Vectors, int]:
    """The vectors of ``texts`` and how many were embedded (the rest came from the
    cache; ``reuse=False`` embeds them all and refreshes the cache)."""
    keys = [text_key(t) for t in texts]
    known = cache.get(keys) if reuse else {}
    out = np.zeros((len(texts), cache.dim), dtype=np.float32)
    todo: list[int] = []
    for i, key in enumerate(keys):
        if key in known:
            out[i] = known[key]
        else:
            todo.append(i)
    if progress is not None and len(texts) - len(todo):
        progress(len(texts) - len(todo))
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        vectors = embedder.embed_documents([texts[i] for i in batch], progress=progress)
        out[batch] = vectors
        cache.put([keys[i] for i in batch], vectors)
    return out, len(todo)
