"""Retrieval: dense (FAISS) + keyword (BM25) -> rank fusion -> optional rerank -> hits.

Both retrievers see the question in the same script as the passages: BM25 works on
folded tokens (``ingest.clean.fold``: width, case, Traditional -> Simplified) and the
embedding model gets Simplified text on both sides (``to_simplified``). A
question in another language than the notes is also searched in translation (``also``:
the translation is made by the caller, ``app.wiring.Search``; nothing here calls a
language model), and every ranking is fused with weighted reciprocal rank fusion.

Each hit carries a calibrated ``relevance`` in 0..1 (see ``relevance``); when the best
hit is below ``retrieval.relevance_threshold`` the result says nothing was found, and
the answering layer refuses without calling the LLM. The gate is there for questions
about things the documents do not cover; a question whose names (``app.names``: "TigerBot",
"GLM-130B", a title in 《》; a year alone is not one) one hit mentions together is about
something they cover, however its wording scores ("TigerBot 是哪家公司开发的？" against a
table row that says 虎博科技 under 机构单位), so it goes on to the answerability checks,
which decide whether that passage states the answer (``retrieval.names_pass_gate``).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.lang import corpus_lang, detect_lang
from app.names import named_together
from app.relevance import Background, measure_background, relevance
from app.rerank import Reranker
from app.settings import RetrievalSettings
from ingest.clean import to_simplified
from ingest.documents import Chunk, Hit
from ingest.embed import Embedder
from ingest.keyword import KeywordIndex, tokenize
from ingest.store import LoadedIndex

Ranking = list[tuple[int, float]]  # (row, score), best first


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    found: bool
    queries: list[str] = field(default_factory=list)  # what was searched (with translation)
    translation: str | None = None  # the question in the passages' language, if translated
    named: list[str] = field(default_factory=list)  # names that passed it below the gate
    timings: dict[str, float] = field(default_factory=dict)


def hit_scores(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """Each hit's scores, compact: what the explanation lists for every passage."""
    return [
        {
            "rank": h.rank,
            "source": h.chunk.source,
            "page": h.chunk.page,
            "heading": h.chunk.heading,
            "chunk_id": h.chunk.chunk_id,
            "relevance": round(h.relevance, 4),
            **{k: round(v, 4) for k, v in h.scores.items()},
        }
        for h in hits
    ]


def rrf(rankings: Sequence[tuple[Ranking, float]], *, k: int) -> Ranking:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over rankings."""
    fused: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, (row, _) in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def coverage(
    query_tokens: Sequence[str], chunk_tokens: frozenset[str], idf: Callable[[str], float]
) -> float:
    """IDF-weighted share of the query's words found in the chunk (0..1).

    A question about something the notes never mention (a model name no chunk holds)
    loses most of its weight here, however similar its wording is to some passage.
    """
    words = set(query_tokens)
    total = sum(idf(t) for t in words)
    if total <= 0:
        return 0.0
    return sum(idf(t) for t in words if t in chunk_tokens) / total


class Retriever:
    def __init__(
        self,
        *,
        settings: RetrievalSettings,
        index: LoadedIndex,
        embedder: Embedder,
        keyword: KeywordIndex | None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.keyword = keyword
        self.reranker = reranker
        self.lang = corpus_lang(c.text for _, c in index.all_chunks())
        self._sources = sorted(index.manifest.documents)
        # What unrelated questions score against this index, per question language: the
        # zero point of every hit's relevance (app.relevance).
        self.background: Background = _background(index, embedder)
        # Words of each chunk, tokenized once: jieba on every pooled chunk of every query
        # cost more than the query embedding itself.
        self._chunk_words: dict[int, frozenset[str]] = {}

    def search(
        self,
        query: str,
        *,
        also: Sequence[str] = (),
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> SearchResult:
        """The top-k passages for ``query``, also searched as each of ``also`` (its
        translations into the passages' language), fused."""
        cfg = self.settings
        k = top_k or cfg.top_k
        timings: dict[str, float] = {}
        chosen = [s for s in self._sources if _matches(s, sources)] if sources else None
        allowed = self._rows_of(chosen) if chosen is not None else None
        if allowed is not None and not allowed:
            return SearchResult([], found=False, queries=[query])

        queries = list(dict.fromkeys(q for q in (query, *also) if q))

        t0 = time.perf_counter()
        # Dense vectors are needed for relevance even when dense ranking is off.
        vectors = [self.embedder.embed_query(to_simplified(q)) for q in queries]
        timings["embed"] = time.perf_counter() - t0
        rankings: list[tuple[Ranking, float]] = []
        keyword_scores: dict[int, float] = {}  # best BM25 score of each row, for explaining
        for q, vector in zip(queries, vectors, strict=True):
            if cfg.dense:
                t0 = time.perf_counter()
                rankings.append(
                    (
                        self.index.search(vector, cfg.candidates, allowed=allowed, sources=chosen),
                        cfg.dense_weight,
                    )
                )
                timings["dense"] = timings.get("dense", 0.0) + time.perf_counter() - t0
            if cfg.bm25 and self.keyword is not None:
                t0 = time.perf_counter()
                ranking = self.keyword.search(q, cfg.candidates, allowed=allowed)
                timings["bm25"] = timings.get("bm25", 0.0) + time.perf_counter() - t0
                rankings.append((ranking, cfg.bm25_weight))
                for row, score in ranking:
                    keyword_scores[row] = max(score, keyword_scores.get(row, 0.0))
        t0 = time.perf_counter()
        fused = rrf(rankings, k=cfg.rrf_k)
        pool = fused[: max(k, cfg.rerank.top_n if self.reranker else k)]
        chunks = self.index.chunks([row for row, _ in pool])
        stored = self.index.vectors([row for row, _ in pool])
        dense = np.stack([stored @ v for v in vectors]) if pool else np.zeros((len(queries), 0))
        hits = self._score(queries, pool, chunks, dense)
        for hit, (row, _) in zip(hits, pool, strict=True):
            hit.scores["bm25"] = keyword_scores.get(row, 0.0)
        timings["fusion"] = time.perf_counter() - t0
        if self.reranker is not None and hits:
            t0 = time.perf_counter()
            for hit, score in zip(
                hits, self.reranker.scores(query, [c.text for c in chunks]), strict=True
            ):
                hit.scores["rerank"] = score
                hit.relevance = hit.score = score
            hits.sort(key=lambda h: -h.score)
            timings["rerank"] = time.perf_counter() - t0
        hits = hits[:k]
        for rank, hit in enumerate(hits, 1):
            hit.rank = rank
        found = bool(hits) and max(h.relevance for h in hits) >= cfg.relevance_threshold
        named: list[str] = []
        if hits and not found and cfg.names_pass_gate:
            named = named_together(query, [f"{h.chunk.heading}\n{h.chunk.text}" for h in hits])
            found = bool(named)
        return SearchResult(hits, found=found, queries=queries, timings=timings, named=named)

    def _score(
        self, queries: list[str], pool: Ranking, chunks: list[Chunk], dense: np.ndarray
    ) -> list[Hit]:
        """Hits with relevance: the best over the queries (the question, its translation),
        each judged against the background of its own language; ``dense`` holds the
        cosine of each query (rows) to each pooled chunk (columns)."""
        token_lists = [tokenize(q) for q in queries]
        zero_points = [self.background.of(detect_lang(q)) for q in queries]
        idf = self.keyword.idf if self.keyword is not None else (lambda _t: 1.0)
        hits = []
        for col, ((row, fused), chunk) in enumerate(zip(pool, chunks, strict=True)):
            words = self._words(row, chunk)
            covers = [coverage(toks, words, idf) for toks in token_lists]
            rel = max(
                relevance(float(d), c, b)
                for d, c, b in zip(dense[:, col], covers, zero_points, strict=True)
            )
            scores = {"fused": fused, "dense": float(dense[:, col].max()), "coverage": max(covers)}
            hits.append(Hit(chunk, fused, relevance=rel, scores=scores))
        return hits

    def _words(self, row: int, chunk: Chunk) -> frozenset[str]:
        words = self._chunk_words.get(row)
        if words is None:
            words = frozenset(tokenize(f"{chunk.heading}\n{chunk.text}"))
            self._chunk_words[row] = words
        return words

    def _rows_of(self, chosen: Sequence[str]) -> list[int]:
        return [row for s in chosen for row, _ in self.index.rows_of(s)]


# Index versions never change once published, so their background is measured once per
# process and embedding model (a reload, another knowledge-base view, the tests' many
# retrievers over one index reuse it; 64 query embeddings take about a second).
_BACKGROUNDS: dict[tuple[str, str], Background] = {}


def _background(index: LoadedIndex, embedder: Embedder) -> Background:
    key = (str(index.path), embedder.name)
    if key not in _BACKGROUNDS:
        _BACKGROUNDS[key] = measure_background(embedder, index.search)
    return _BACKGROUNDS[key]


def _matches(source: str, patterns: Sequence[str]) -> bool:
    name = source.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(source, p) or fnmatch.fnmatch(name, p) for p in patterns)
