"""Ingest at scale: generated corpora of 100 and 1,000 documents, peak memory, resuming.

The documents are generated, said plainly: each is 3-5 paragraphs of the bundled notes,
drawn at random, their sentences shuffled, with the document's own number and title
woven in (so no two chunks are the same text and the embedding cache cannot collapse
them). Each size is built by a fresh child process (``notesqa``'s own build, FAISS) so
its peak RSS is its own; printed per size: documents, chunks, seconds, chunks/s, peak
RSS, and peak RSS above the process after loading the model (what the build itself
took), beside the index's own size in memory (vectors and chunk text).

Then the largest corpus is built by ``notesqa build`` in a child process that is killed
(SIGKILL) once half its chunks are in the embedding cache, and built again: printed are
the chunks the second build embedded and those it took from the cache.

    .venv/bin/python bench/ingest_scale.py [--docs 100,1000] [--no-resume] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed

ROOT = _common.HERE.parent
TOPICS = ["模型训练", "检索增强", "评测", "微调", "推理部署", "数据处理", "提示工程", "对齐"]


def make_corpus(folder: Path, count: int, *, seed: int = 5) -> None:
    """``count`` documents made from the notes' paragraphs, shuffled and varied."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "notes").glob("*.txt")))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if len(p.strip()) >= 40]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic = rng.choice(TOPICS)
        parts = [f"# 第{i}号文档：{topic}笔记"]
        for j, para in enumerate(rng.sample(paragraphs, rng.randint(3, 5))):
            sentences = [s for s in re.split(r"(?<=[。！？!?])", para) if s.strip()]
            rng.shuffle(sentences)
            parts.append(f"## {topic} {i}.{j}\n\n第{i}号文档第{j}段：" + "".join(sentences)[:300])
        (folder / f"doc{i:05d}.md").write_text("\n\n".join(parts), encoding="utf-8")


def child(docs: Path, index_dir: Path, config: Path | None) -> dict[str, Any]:
    """In the child process: load the model, note RSS, build, note peak RSS."""
    from app.settings import load_settings
    from app.wiring import chunking_from, embedder_from
    from ingest.build import build_index
    from ingest.store import IndexStore

    settings = load_settings(config)
    embedder = embedder_from(settings)
    embedder.embed_documents(["预热 warm-up"] * 4)  # the runtime's buffers, before the build
    baseline = _common.rss_mb()
    t0 = time.perf_counter()
    report = build_index(
        [docs],
        store=IndexStore(index_dir / "scale"),
        embedder=embedder,
        chunking=chunking_from(settings),
        max_file_bytes=int(settings.max_file_mb * 1_000_000),
    )
    seconds = time.perf_counter() - t0
    text_mb = sum(len(p.read_bytes()) for p in docs.glob("*.md")) / 1e6
    return {
        "documents": len(report.added),
        "chunks": report.chunks,
        "seconds": round(seconds, 1),
        "chunks_per_s": round(report.chunks / seconds, 2),
        "corpus_mb": round(text_mb, 2),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(_common.peak_rss_mb(), 1),
        "build_rss_mb": round(_common.peak_rss_mb() - baseline, 1),
        # what the index itself holds in memory while it is written: vectors, chunk text
        "index_mb": round((report.chunks * embedder.dim * 4 + text_mb * 1e6) / 1e6, 1),
    }


def resume(docs: Path, index_dir: Path, chunks: int, config: Path | None) -> dict[str, Any]:
    """Kill `notesqa build` once half the chunks are cached, then build again."""
    env = {**os.environ, "NOTESQA_INDEX_DIR": str(index_dir), "NOTESQA_INDEX_NAME": "resume"}
    command = [sys.executable, "-m", "app.cli", "build", str(docs)]
    command += ["--config", str(config)] if config else []
    cache = index_dir / "resume" / ".embeddings.sqlite"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    cached = 0
    while proc.poll() is None and cached < chunks // 2:
        time.sleep(1.0)
        cached = _cached(cache)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_after = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    summary = re.search(r"(\d+) embedded(?:, (\d+) from the embedding cache)?", again.stdout)
    return {
        "killed_after_s": round(killed_after, 1),
        "cached_when_killed": _cached(cache) if again.returncode else cached,
        "second_build_s": round(time.perf_counter() - t0, 1),
        "embedded": int(summary.group(1)) if summary else None,
        "from_cache": int(summary.group(2) or 0) if summary else None,
        "returncode": again.returncode,
    }


def _cached(cache: Path) -> int:
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
    except sqlite3.Error:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = _common.parser(__doc__)
    parser.add_argument("--docs", default="100,1000", help="corpus sizes, comma-separated")
    parser.add_argument("--no-resume", action="store_true", help="skip the kill-and-resume run")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.config)))
        return 0
    sizes = [int(s) for s in args.docs.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="notesqa-ingest-scale-") as tmp:
        for n in sizes:
            docs = Path(tmp) / f"docs-{n}"
            make_corpus(docs, n)
            command = [sys.executable, __file__, "--child", str(docs), str(Path(tmp) / f"idx-{n}")]
            command += ["--config", str(args.config)] if args.config else []
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            if not args.json:
                r = rows[-1]
                print(
                    f"{r['documents']:>6} documents, {r['chunks']:>6} chunks, "
                    f"{r['corpus_mb']:.2f} MB of text: {r['seconds']:.0f} s "
                    f"({r['chunks_per_s']:.1f} chunks/s), peak RSS "
                    f"{r['peak_rss_mb']:.0f} MB, of it the build {r['build_rss_mb']:.0f} MB "
                    f"(the index itself: {r['index_mb']:.1f} MB)"
                )
        result: dict[str, Any] = {"sizes": rows}
        if not args.no_resume:
            n, chunks = sizes[-1], rows[-1]["chunks"]
            result["resume"] = r = resume(
                Path(tmp) / f"docs-{n}", Path(tmp) / "resume", chunks, args.config
            )
            if not args.json:
                print(
                    f"resume: killed after {r['killed_after_s']:.0f} s with "
                    f"{r['cached_when_killed']} of {chunks} chunks cached; the second build "
                    f"embedded {r['embedded']} and took {r['from_cache']} from the cache "
                    f"({r['second_build_s']:.0f} s)"
                )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
