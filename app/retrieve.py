"""Retrieval: dense (FAISS) + keyword (BM25) -> fusion -> optional rerank -> hits."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.settings import Settings
from ingest.documents import Hit
from ingest.embed import Embedder
from ingest.store import LoadedIndex


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    found: bool = True
    timings: dict[str, float] = field(default_factory=dict)


class Retriever:
    def __init__(self, *, settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings) -> Retriever:
        from app.components import embedder_from, store_from

        embedder = embedder_from(settings)
        index = store_from(settings).load(embedding_model=embedder.name, dim=embedder.dim)
        return cls(settings=settings, index=index, embedder=embedder)

    def search(
        self, query: str, *, top_k: int | None = None, sources: Sequence[str] | None = None
    ) -> SearchResult:
        k = top_k or self.settings.retrieval.top_k
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        want = k if not sources else len(self.index)
        scored = self.index.search(vector, want)
        chunks = self.index.chunks([r for r, _ in scored])
        hits = []
        for (_, score), chunk in zip(scored, chunks, strict=True):
            if sources and not _matches(chunk.source, sources):
                continue
            hits.append(Hit(chunk, score, rank=len(hits) + 1, relevance=score))
            if len(hits) == k:
                break
        return SearchResult(hits, timings={"dense": time.perf_counter() - t0})


def _matches(source: str, patterns: Sequence[str]) -> bool:
    name = source.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(source, p) or fnmatch.fnmatch(name, p) for p in patterns)
