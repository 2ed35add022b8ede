"""FAISS flat and HNSW behind one search: recall of HNSW against exact search, filtered
searches that only return allowed rows, and a real build (real model) written as HNSW.

The recall test uses random unit vectors (clustered, as embeddings are), not text: it
measures the index, not the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from building import build

from ingest.embed import Embedder
from ingest.store import IndexStore
from ingest.vector_index import (
    EXACT_BELOW,
    VectorIndexOptions,
    build_vector_index,
    kind_of,
    search_vectors,
)

DIM = 64


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(50, DIM))
    points = centres[rng.integers(0, 50, 12_000)] + 0.6 * rng.normal(size=(12_000, DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_auto_picks_hnsw_from_the_configured_size() -> None:
    options = VectorIndexOptions(hnsw_above=1000)
    assert options.kind_for(999) == "flat" and options.kind_for(1000) == "hnsw"
    assert VectorIndexOptions(kind="hnsw").kind_for(1) == "hnsw"
    assert VectorIndexOptions(kind="flat").kind_for(10**7) == "flat"


def test_hnsw_recall_at_10_against_flat(vectors: np.ndarray) -> None:
    flat = build_vector_index(vectors, DIM, VectorIndexOptions(kind="flat"))
    hnsw = build_vector_index(vectors, DIM, VectorIndexOptions(kind="hnsw"))
    assert (kind_of(flat), kind_of(hnsw)) == ("flat", "hnsw")
    queries = vectors[:200] + 0.05
    found = 0
    for q in queries:
        exact = {r for r, _ in search_vectors(flat, q, 10)}
        found += len(exact & {r for r, _ in search_vectors(hnsw, q, 10, ef_search=128)})
    assert found / (10 * len(queries)) >= 0.95


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
@pytest.mark.parametrize("allowed_count", [7, EXACT_BELOW + 100])
def test_a_filtered_search_returns_only_allowed_rows(
    vectors: np.ndarray, kind: str, allowed_count: int
) -> None:
    index = build_vector_index(vectors, DIM, VectorIndexOptions(kind=kind))  # type: ignore[arg-type]
    allowed = list(range(3, 3 + 2 * allowed_count, 2))
    hits = search_vectors(index, vectors[5], 5, allowed=allowed, ef_search=256)
    assert len(hits) == 5 and all(row in set(allowed) for row, _ in hits)
    assert hits[0][0] == 5  # the query itself is allowed, and nearest
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_build_written_as_hnsw_searches_and_rebuilds(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 微调\n\nLoRA 在冻结的权重旁加入低秩矩阵。", encoding="utf-8")
    (docs / "b.md").write_text("# 检索\n\nRAG 先检索相关段落，再让模型回答。", encoding="utf-8")
    store = IndexStore(tmp_path / "indexes" / "t", vectors=VectorIndexOptions(kind="hnsw"))
    build(store, embedder, docs)
    index = store.load()
    assert index.manifest.vector_index == "hnsw"
    [(row, _)] = index.search(embedder.embed_query("LoRA 加入了什么？"), 1)
    assert index.chunks([row])[0].source == "a.md"
    index.close()
    # An incremental build reuses the stored vectors, read back out of the graph.
    (docs / "c.md").write_text("# 数据\n\n预训练需要大量文本。", encoding="utf-8")
    report = build(store, embedder, docs)
    assert report.embedded_chunks == 1 and sorted(report.unchanged) == ["a.md", "b.md"]
    assert store.load().manifest.vector_index == "hnsw"
