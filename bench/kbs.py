"""What a knowledge base costs a server: memory and load time per loaded knowledge base.

Builds ``--copies`` copies of the bundled notes (143 chunks each) into one index in a
scratch folder, copies that index to N knowledge bases, then in a fresh process (the
shared embedder loaded first, as a server has it) loads them one after another through
``app.library.Library`` and asks each one question. Reports the resident memory (VmRSS)
added by each loaded knowledge base, per knowledge base and per 1,000 chunks, what the
first load adds for everything they share, the time to load one, and what unloading
gives back once ``server.max_loaded_kbs`` is reached (set to N - 1 here, so the last
load unloads the oldest). The generator is not loaded: it is shared by all knowledge
bases and does not grow with them (bench/answer.py measures it).

    .venv/bin/python bench/kbs.py [--config FILE] [--kbs N] [--copies K] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed


def run(config: str | None, n: int, copies: int) -> dict[str, Any]:
    """Build in this process; measure in a fresh one, whose memory holds no build."""
    import subprocess
    import sys

    from app.library import DEFAULT, Library
    from app.settings import load_settings
    from app.wiring import embedder_from

    scratch = Path(tempfile.mkdtemp(prefix="notesqa-bench-kbs-"))
    try:
        base = load_settings(config)
        docs = scratch / "docs"
        docs.mkdir()
        for j in range(copies):
            for note in sorted(base.docs_dir.glob("*.txt")):
                shutil.copy(note, docs / f"copy{j}_{note.name}")
        settings = base.model_copy(update={"index_dir": scratch / "indexes", "docs_dir": docs})
        library = Library(settings)
        library.build(DEFAULT, embedder=embedder_from(settings))
        chunks = library.info(DEFAULT).chunks
        for i in range(1, n):
            shutil.copytree(scratch / "indexes" / DEFAULT, scratch / "indexes" / f"kb{i}")
        command = [sys.executable, __file__, "--measure", str(scratch), "--kbs", str(n)]
        if config:
            command += ["--config", str(config)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return {"kbs": n, "chunks_per_kb": chunks, **result} | {
            "per_1000_chunks_mb": round(result["per_kb_mb"] / chunks * 1000, 2)
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(config: str | None, scratch: Path, n: int) -> dict[str, Any]:
    from app.library import Library
    from app.llm.extractive import ExtractiveGenerator
    from app.service import Models
    from app.settings import load_settings

    base = load_settings(config)
    settings = base.model_copy(
        update={
            "index_dir": scratch / "indexes",
            "docs_dir": scratch / "docs",
            "server": base.server.model_copy(update={"max_loaded_kbs": n - 1}),
        }
    )
    models = Models(settings, generator=ExtractiveGenerator())
    library = Library(settings, models)
    names = library.names()
    models.embedder.embed_query("warm up")  # the shared embedder, as a server has it
    gc.collect()
    before = _common.rss_mb()
    steps: list[dict[str, float]] = []
    for name in names:
        start = _common.rss_mb()
        t0 = time.perf_counter()
        loaded = library.get(name).load()
        load_s = time.perf_counter() - t0
        loaded.search("外挂知识库的具体流程是什么？")
        del loaded
        gc.collect()
        loaded_now = sum(library.is_loaded(x) for x in names)
        steps.append(
            {"load_s": load_s, "rss_added_mb": _common.rss_mb() - start, "loaded": loaded_now}
        )
    # The first load also loads what all share (jieba's dictionary, the search code);
    # the cost of one more knowledge base is the median of the others, before unloading.
    added = [s["rss_added_mb"] for s in steps[1 : n - 1]]
    return {
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(_common.rss_mb(), 1),
        "first_load_rss_added_mb": round(steps[0]["rss_added_mb"], 1),
        "per_kb_mb": round(statistics.median(added), 2),
        "load_s_median": round(statistics.median(s["load_s"] for s in steps), 3),
        "last_load_rss_added_mb": round(steps[-1]["rss_added_mb"], 2),
        "loaded_at_end": int(steps[-1]["loaded"]),
    }


def main() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--kbs", type=int, default=4, help="knowledge bases to load (>= 2)")
    parser.add_argument("--copies", type=int, default=4, help="copies of the notes per index")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the fresh process run() starts
        print(json.dumps(_measure(args.config, args.measure, args.kbs)))
        return
    result = run(args.config, max(2, args.kbs), max(1, args.copies))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['kbs']} knowledge bases of {result['chunks_per_kb']} chunks each\n"
        f"  memory per loaded knowledge base: {result['per_kb_mb']:.1f} MB "
        f"({result['per_1000_chunks_mb']:.1f} MB per 1,000 chunks)\n"
        f"  the first one also loads what all share: {result['first_load_rss_added_mb']:.0f} MB\n"
        f"  load time (median): {result['load_s_median'] * 1000:.0f} ms\n"
        f"  past max_loaded_kbs={result['kbs'] - 1}: the last load added "
        f"{result['last_load_rss_added_mb']:.1f} MB, {result['loaded_at_end']} stay loaded\n"
        f"  RSS: {result['rss_before_mb']:.0f} MB with the embedder alone, "
        f"{result['rss_after_mb']:.0f} MB at the end"
    )


if __name__ == "__main__":
    main()
