"""Which FAISS index holds a version's vectors, and how it is searched.

Flat (exact inner product) is the default and right up to some tens of thousands of
chunks: every search reads every vector, which is a few milliseconds there. Above
``hnsw_above`` chunks (``kind: auto``), or always with ``kind: hnsw``, an HNSW graph
answers in a fraction of that at a small loss of recall (``bench/scale.py`` measures
both). Vectors are L2-normalised, so inner product is cosine in both.

A search restricted to a few rows (a source filter) is exact whatever the index: the
graph walk of a filtered HNSW search can miss allowed rows when they are rare, and
scoring a few thousand reconstructed vectors directly costs less than the walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ingest.embed import Vectors

Kind = Literal["auto", "flat", "hnsw"]
EXACT_BELOW = 4096  # allowed rows under which a filtered search scores them directly


@dataclass(frozen=True, slots=True)
class VectorIndexOptions:
    kind: Kind = "auto"
    hnsw_above: int = 50_000  # chunks; "auto" builds HNSW from here on
    hnsw_m: int = 32  # graph degree: more is better recall, more memory and build time
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128  # candidates a search keeps: recall against speed

    def kind_for(self, count: int) -> Literal["flat", "hnsw"]:
        if self.kind == "auto":
            return "hnsw" if count >= self.hnsw_above else "flat"
        return self.kind


def build_vector_index(vectors: Vectors, dim: int, options: VectorIndexOptions) -> Any:
    import faiss

    index: Any
    if options.kind_for(len(vectors)) == "hnsw":
        index = faiss.IndexHNSWFlat(dim, options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = options.hnsw_ef_construction
        index.hnsw.efSearch = options.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def kind_of(index: Any) -> str:
    import faiss

    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def search_vectors(
    index: Any,
    query: Vectors,
    k: int,
    *,
    allowed: Sequence[int] | None = None,
    ef_search: int | None = None,
) -> list[tuple[int, float]]:
    """(row, cosine) of the ``k`` nearest rows, only among ``allowed`` if given."""
    import faiss

    total = int(index.ntotal)
    k = min(k, total if allowed is None else len(allowed))
    if k <= 0:
        return []
    x = query.reshape(1, -1).astype(np.float32)
    if allowed is not None and len(allowed) < EXACT_BELOW:
        rows = np.asarray(allowed, dtype="int64")
        sims = np.vstack([index.reconstruct(int(r)) for r in rows]) @ x[0]
        best = np.argsort(-sims)[:k]
        return [(int(rows[i]), float(sims[i])) for i in best]
    if kind_of(index) == "hnsw":
        # (faiss's type stubs lack SearchParametersHNSW, which faiss >= 1.7.3 has)
        params: Any = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = max(ef_search or 0, k)
    else:
        params = faiss.SearchParameters()
    selector = None  # kept in a local: the parameters do not keep it alive
    if allowed is not None:
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype="int64"))
        params.sel = selector
    scores, ids = index.search(x, k, params=params)
    del selector
    return _pairs(ids, scores)


def _pairs(ids: Any, scores: Any) -> list[tuple[int, float]]:
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
