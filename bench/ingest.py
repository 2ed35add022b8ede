"""Ingest throughput: the whole build pipeline against the embedding model alone.

Builds ``docs_dir`` (the bundled ``notes/``) into a temporary index with the configured
embedder, then encodes the very texts that build embedded (``embedding_text`` of every
chunk) with the same model instance. The ratio of the two shows what loading, cleaning,
splitting, BM25 and writing cost on top of the model. Then, unless ``--no-scans``, the
documents people have: a 20-page PDF with two scanned pages (``bench/ocr.py``: seconds
per stage, OCR characters and pages per second, character accuracy). ``indexes/`` is
never touched.

    .venv/bin/python bench/ingest.py [--config FILE] [--repeat N] [--no-scans] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed


def main(argv: list[str] | None = None) -> int:
    parser = _common.parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="builds and encodes to time")
    parser.add_argument("--no-scans", action="store_true", help="skip the scanned-PDF build")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from app.settings import load_settings
    from app.wiring import chunking_from, embedder_from
    from ingest.build import build_index, embedding_text
    from ingest.errors import NotesQAError
    from ingest.store import IndexStore

    try:
        settings = load_settings(args.config)
        t0 = time.perf_counter()
        embedder = embedder_from(settings)
        load_s = time.perf_counter() - t0
    except NotesQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # The first call allocates the runtime's buffers; neither side should pay for it.
    embedder.embed_documents(["预热 warm-up"] * 4)

    builds: list[float] = []
    encodes: list[float] = []
    documents = chunks = 0
    with tempfile.TemporaryDirectory(prefix="notesqa-bench-") as tmp:
        for n in range(args.repeat):
            store = IndexStore(Path(tmp) / f"bench-{n}")  # fresh each time: nothing reused
            t0 = time.perf_counter()
            try:
                report = build_index(
                    [settings.docs_dir],
                    store=store,
                    embedder=embedder,
                    chunking=chunking_from(settings),
                    max_file_bytes=int(settings.max_file_mb * 1_000_000),
                    full=True,
                )
            except NotesQAError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            builds.append(time.perf_counter() - t0)
            for path, reason in report.failed:
                print(f"warning: {path}: {reason}", file=sys.stderr)
            documents, chunks = len(report.added), report.chunks

            index = store.load()
            texts = [embedding_text(c) for _, c in index.all_chunks()]
            index.close()
            t0 = time.perf_counter()
            embedder.embed_documents(texts)
            encodes.append(time.perf_counter() - t0)

    pipeline_s = statistics.median(builds)
    raw_s = statistics.median(encodes)
    result: dict[str, Any] = {
        "embedder": embedder.name,
        "docs_dir": str(settings.docs_dir),
        "documents": documents,
        "chunks": chunks,
        "repeat": args.repeat,
        "model_load_s": round(load_s, 3),
        "pipeline": {
            "seconds": round(pipeline_s, 3),
            "chunks_per_s": round(chunks / pipeline_s, 2),
            "runs_s": [round(s, 3) for s in builds],
        },
        "raw_encode": {
            "seconds": round(raw_s, 3),
            "chunks_per_s": round(chunks / raw_s, 2),
            "runs_s": [round(s, 3) for s in encodes],
        },
        # Time ratio: 1.10 means the pipeline takes 10% longer than the model alone.
        "pipeline_over_raw": round(pipeline_s / raw_s, 3),
        "peak_rss_mb": round(_common.peak_rss_mb(), 1),
    }
    scans = None if args.no_scans else _scan_args(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return _common.sibling("ocr").main(scans) if scans is not None else 0
    print(
        f"ingest: {documents} documents, {chunks} chunks from {settings.docs_dir} "
        f"({embedder.name}, loaded in {load_s:.2f} s)\n"
        f"median of {args.repeat} run(s)\n"
    )
    _table(
        ["", "seconds", "chunks/s"],
        [
            ["pipeline (build_index)", f"{pipeline_s:.3f}", f"{chunks / pipeline_s:.1f}"],
            ["raw encode (same texts)", f"{raw_s:.3f}", f"{chunks / raw_s:.1f}"],
        ],
    )
    print(
        f"\npipeline / raw time: {pipeline_s / raw_s:.2f}x "
        f"(overhead {100 * (pipeline_s / raw_s - 1):+.0f}%)\n"
        f"peak RSS: {_common.peak_rss_mb():.0f} MB\n"
    )
    return _common.sibling("ocr").main(scans) if scans is not None else 0


def _scan_args(args: Any) -> list[str]:
    """bench/ocr.py's arguments: the same config and output form."""
    return [*(["--config", str(args.config)] if args.config else []), *(["--json"] * args.json)]


def _table(header: list[str], rows: list[list[str]]) -> None:
    """First column left-aligned, the figures right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in range(1, len(row))]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
