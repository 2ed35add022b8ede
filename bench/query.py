"""Query latency: each retrieval stage against the bare query embedding.

Over every question of the dev set (``--repeat`` times), times ``embed_query`` alone and
then ``Retriever.search`` with translation off and reranking as configured, and prints
p50/p95 per stage. The search p50 over the bare embedding p50 is the retrieval overhead;
the target is at most 1.3x with no reranker and no translation. ``--translate`` adds a
run that translates the cross-language questions with the configured generator.
``--contention`` times searches while a build runs and while the model generates, with
one query-embedding thread and with every core (``bench/_contention.py``).

Needs the built index (``notesqa build``).

    .venv/bin/python bench/query.py [--config FILE] [--repeat N] [--translate]
                                    [--contention] [--json]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _common  # before anything from the project: offline models, `ingest` unshadowed

if TYPE_CHECKING:
    from app.retrieve import Retriever
    from app.settings import Settings
    from ingest.embed import Embedder

STAGES = ("embed", "dense", "bm25", "fusion", "rerank")
TARGET_RATIO = 1.3
WARMUP = 5


def main(argv: list[str] | None = None) -> int:
    parser = _common.parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the question set")
    parser.add_argument("--set", type=Path, default=_common.DEV_SET, help="JSONL question set")
    parser.add_argument(
        "--translate", action="store_true", help="also time searches with query translation"
    )
    parser.add_argument(
        "--contention",
        action="store_true",
        help="also time searches during a build and during a generation",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from app.evaluate import load_set
    from app.settings import load_settings
    from app.wiring import embedder_from, retriever_from, store_from
    from ingest.errors import NotesQAError

    try:
        settings = load_settings(args.config)
        store = store_from(settings)
        if store.current_path() is None:
            print(f"error: no index at {store.root}: run `notesqa build` first", file=sys.stderr)
            return 1
        questions = [item.question for item in load_set(args.set)]
        embedder = embedder_from(settings, for_queries=True)
        # No generator: no translator, whatever retrieval.translate_query says.
        retriever = retriever_from(settings, embedder=embedder)
    except NotesQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    result: dict[str, Any] = {
        "index": f"{store.root} ({retriever.index.version}, {len(retriever.index)} chunks)",
        "questions": len(questions),
        "repeat": args.repeat,
        "rerank": settings.retrieval.rerank.model,
        **_plain_run(retriever, questions, repeat=args.repeat),
    }
    if args.translate:
        try:
            result["translate"] = _translate_run(settings, embedder, questions, args.repeat)
        except NotesQAError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    if args.contention:
        contention = _common.sibling("_contention")
        try:
            result["contention"] = contention.contention_run(settings, questions, _summary)
        except NotesQAError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print(result)
    return 0


def _plain_run(retriever: Retriever, questions: Sequence[str], *, repeat: int) -> dict[str, Any]:
    from ingest.clean import to_simplified

    embedder = retriever.embedder
    # search() embeds the Simplified text; the bare figure embeds the same string.
    simplified = [to_simplified(q) for q in questions]
    for q, s in zip(questions[:WARMUP], simplified[:WARMUP], strict=True):
        embedder.embed_query(s)
        retriever.search(q)

    samples: dict[str, list[float]] = {"bare_embed": [], "search": []}

    def bare(text: str) -> None:
        t0 = time.perf_counter()
        embedder.embed_query(text)
        samples["bare_embed"].append(time.perf_counter() - t0)

    def search(query: str) -> None:
        t0 = time.perf_counter()
        found = retriever.search(query)
        samples["search"].append(time.perf_counter() - t0)
        for stage, seconds in found.timings.items():
            samples.setdefault(stage, []).append(seconds)

    for _ in range(repeat):
        # Both measured back to back on each question, so load from other processes falls
        # on both alike; the order alternates, so neither always finds the caches warm.
        for n, (q, s) in enumerate(zip(questions, simplified, strict=True)):
            if n % 2 == 0:
                bare(s)
                search(q)
            else:
                search(q)
                bare(s)

    stages = {"bare_embed": _summary(samples["bare_embed"])}
    stages |= {s: _summary(samples[s]) for s in STAGES if s in samples}
    stages["search"] = _summary(samples["search"])
    ratio = stages["search"]["p50_ms"] / stages["bare_embed"]["p50_ms"]
    return {"stages": stages, "search_over_bare_embed": round(ratio, 3)}


def _translate_run(
    settings: Settings, embedder: Embedder, questions: Sequence[str], repeat: int
) -> dict[str, Any]:
    """Searches of the cross-language questions, each translated afresh by the generator."""
    from app.lang import detect_lang
    from app.wiring import generator_from, retriever_from, search_from

    retrieval = settings.retrieval.model_copy(update={"translate_query": True})
    settings = settings.model_copy(update={"retrieval": retrieval})
    generator = generator_from(settings)
    retriever = retriever_from(settings, embedder=embedder)
    cross = [q for q in questions if detect_lang(q) != retriever.lang]
    if not cross:
        return {"generator": generator.name, "questions": 0}
    # The first generation pages the model in from disk.
    search_from(settings, retriever, lambda: generator)(cross[0])
    translate: list[float] = []
    search: list[float] = []
    for _ in range(repeat):
        for q in cross:
            # The translator caches by question; a fresh search makes every pass a real call.
            fresh = search_from(settings, retriever, lambda: generator)
            t0 = time.perf_counter()
            found = fresh(q)
            search.append(time.perf_counter() - t0)
            if "translate" in found.timings:
                translate.append(found.timings["translate"])
    return {
        "generator": generator.name,
        "questions": len(cross),
        "translate": _summary(translate),
        "search": _summary(search),
    }


def _summary(seconds: Sequence[float]) -> dict[str, Any]:
    import numpy as np

    if not seconds:
        return {"n": 0, "p50_ms": None, "p95_ms": None}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"query latency: {result['questions']} questions x {result['repeat']}, "
        f"index {result['index']}\n"
        f"translation off, rerank {result['rerank'] or 'off'}\n"
    )
    labels = {"bare_embed": "embed_query (bare)", "search": "search() whole"}
    rows = [
        [labels.get(name, f"  {name}"), f"{s['p50_ms']:.2f}", f"{s['p95_ms']:.2f}", str(s["n"])]
        for name, s in result["stages"].items()
    ]
    _table(["stage", "p50 ms", "p95 ms", "n"], rows)
    ratio = result["search_over_bare_embed"]
    target = "" if result["rerank"] else f" (target <= {TARGET_RATIO}x)"
    print(f"\nsearch p50 / bare embed p50: {ratio:.2f}x{target}")
    translate = result.get("translate")
    if translate is not None:
        print(
            f"\nwith translation ({translate['generator']}, "
            f"{translate['questions']} cross-language questions):"
        )
        if translate["questions"]:
            _table(
                ["stage", "p50 ms", "p95 ms", "n"],
                [
                    [name, _ms(s["p50_ms"]), _ms(s["p95_ms"]), str(s["n"])]
                    for name, s in (
                        ("translate", translate["translate"]),
                        ("search() whole", translate["search"]),
                    )
                ],
            )
    if "contention" in result:
        _print_contention(result["contention"])


def _print_contention(result: dict[str, Any]) -> None:
    print(f"\nsearch while the {result['cores']} cores are shared (p50 / p95 ms):")
    rows = []
    for threads, row in result["by_query_threads"].items():
        cells = [f"embedding.query_threads={threads}"]
        for key in ("quiet", "beside_busy_process", "during_build", "during_generation"):
            cells.append(f"{_ms(row[key]['p50_ms'])} / {_ms(row[key]['p95_ms'])}")
        rows.append(cells)
    _table(["", "quiet", "1 busy process", "during a build", "during a generation"], rows)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> None:
    """First column left-aligned, the figures right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in range(1, len(row))]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
