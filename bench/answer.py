"""Answer latency: the served path (model in its worker process) against bare llama.cpp.

Asks one fixed Chinese question from the dev set through ``Answerer.stream`` with the
generator the service uses (retrieval, prompt building, then generation in the
supervised worker process, over its socket) and reports time to first token and decode
speed. In the same process it sends the exact messages the answerer built straight to an
in-process ``Llama.create_chat_completion`` with the same sampling settings, and reports
that time to first token too; the ratio is what notesqa and its worker add in front of
the model (target: at most 5%). Both sides evaluate the whole prompt every run: the bare
model's cache is reset, and the worker is given another chat in between.

The answerability verdict (``app.answer.answerability``) is timed the same way: the
served path with and without it (``answer.verdict``), same run, target a ratio of at
most 1.15; and the model time of a refusal the verdict decides, from a cold cache and
with the prompt already cached.

Memory: peak RSS of the server process (before the bare model is loaded here) plus the
worker's peak, as a deployment has them.

Needs the built index (``notesqa build``) and the llama_cpp backend with its GGUF model.

    .venv/bin/python bench/answer.py [--config FILE] [--runs N] [--question-id ID]
                                     [--decode-tokens N] [--json]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _answer_timing as timing  # imports _common first
import _common  # before anything from the project: offline models, `ingest` unshadowed

# A Chinese question the index answers at length (about 200 tokens with the default model),
# so the decode rate is measured over a real answer, not a five-token one.
DEFAULT_QUESTION = "d022"
TARGET_OVERHEAD_PCT = 5.0
TARGET_VERDICT_RATIO = 1.15  # answerability may add at most 15% to TTFT
# Decoding speed settles within a few dozen tokens; stopping there keeps a run short on
# a busy machine, where llama.cpp may decode at a few tokens per second.
DECODE_TOKENS = 128


def main(argv: list[str] | None = None) -> int:
    parser = _common.parser(__doc__)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each path (median)")
    parser.add_argument("--set", type=Path, default=_common.DEV_SET, help="JSONL question set")
    parser.add_argument("--question-id", default=DEFAULT_QUESTION, help="which question to ask")
    parser.add_argument(
        "--decode-tokens",
        type=int,
        default=DECODE_TOKENS,
        help="stop each served answer after this many pieces (0: let it finish)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.decode_tokens < 0:
        parser.error("--runs must be at least 1 and --decode-tokens at least 0")
    try:
        result = _bench(
            args.config,
            args.set,
            args.question_id,
            runs=args.runs,
            decode_tokens=args.decode_tokens,
        )
    except timing.Fail as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print(result)
    return 0


def _bench(
    config: Path | None, set_file: Path, question_id: str, *, runs: int, decode_tokens: int
) -> dict[str, Any]:
    from app.answer import Answerer
    from app.evaluate import load_set
    from app.llm import make_local_generator
    from app.llm.llama_cpp import LlamaCppGenerator
    from app.llm.supervised import SupervisedGenerator
    from app.service import KnowledgeBase
    from app.settings import load_settings
    from app.wiring import store_from
    from ingest.errors import NotesQAError

    try:
        settings = load_settings(config)
        if settings.llm.backend != "llama_cpp":
            raise timing.Fail(
                f"llm.backend is {settings.llm.backend!r}; this bench times llama_cpp"
            )
        if settings.llm.isolation != "process":
            raise timing.Fail("llm.isolation is not 'process': this bench times the served worker")
        store = store_from(settings)
        if store.current_path() is None:
            raise timing.Fail(f"no index at {store.root}: run `notesqa build` first")
        items = {item.id: item for item in load_set(set_file)}
        if question_id not in items:
            raise timing.Fail(f"no question {question_id!r} in {set_file}")
        question = items[question_id].question
        kb = KnowledgeBase(settings)
        loaded = kb.load()
        worker = kb.generator
        assert isinstance(worker, SupervisedGenerator)  # llama_cpp + process, checked above
        worker.wait_ready()
    except NotesQAError as exc:
        raise timing.Fail(str(exc)) from exc

    # Untimed warm-up: the recorder captures the messages the answerer builds for this
    # question (and warms the embedder); a one-token completion pages the model in.
    recorder = timing.RecordingGenerator(worker)
    warm = Answerer(settings=settings, search=loaded.search, generator=recorder)
    warm.ask(question)
    if not recorder.requests:
        raise timing.Fail(f"{question_id} is refused at retrieval, the model is never called")
    messages = recorder.requests[-1].messages
    timing.flush(worker)
    server_rss = _common.rss_mb("self", "VmHWM")  # before this process loads a model of its own

    try:
        bare_generator = make_local_generator(settings.llm.model_copy(update={"isolation": "none"}))
    except NotesQAError as exc:
        raise timing.Fail(str(exc)) from exc
    assert isinstance(bare_generator, LlamaCppGenerator)
    llm = timing.llama_of(bare_generator)
    llm.create_completion("你好", max_tokens=1)

    # The same service without the answerability verdict: what the verdict adds to TTFT.
    unjudged_settings = settings.model_copy(
        update={"answer": settings.answer.model_copy(update={"verdict": False})}
    )
    unjudged = Answerer(settings=unjudged_settings, search=loaded.search, generator=worker)
    served: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    bare: list[float] = []
    prompt_tokens = 0
    paths = ("served", "unjudged", "bare")
    for n in range(runs):
        # Rotate which path goes first so drift in machine load is shared.
        order = paths[n % 3 :] + paths[: n % 3]
        for path in order:
            if path == "served":
                timing.flush(worker)  # the worker's cache now holds another chat
                served.append(timing.served_run(loaded.answerer, question, worker, decode_tokens))
            elif path == "unjudged":
                timing.flush(worker)
                plain.append(timing.served_run(unjudged, question, worker, decode_tokens))
            else:
                llm.reset()  # forget the evaluated prompt: no prefix-cache hit
                ttft, prompt_tokens = timing.bare_run(llm, messages, settings.llm)
                bare.append(ttft)
    verdict = timing.verdict_times(worker, messages, runs)
    worker_rss = _common.rss_mb(str(worker.pid), "VmHWM") if worker.pid else 0.0
    kb.close()

    # Retrieval is part of the served TTFT; timed on its own to show how much.
    retrieve: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        loaded.search(question)
        retrieve.append(time.perf_counter() - t0)

    served_ttft = statistics.median(r["ttft_s"] for r in served)
    unjudged_ttft = statistics.median(r["ttft_s"] for r in plain)
    bare_ttft = statistics.median(bare)
    rates = [r["decode_tok_s"] for r in served if r["decode_tok_s"] is not None]
    return {
        "model": worker.name,
        "threads": llm.n_threads,
        "llama_build": timing.llama_build_level(),
        "question_id": question_id,
        "question": question,
        "prompt_tokens": prompt_tokens,
        "prompt_tok_s": round(prompt_tokens / bare_ttft, 1),
        "runs": runs,
        "decode_tokens": decode_tokens or None,
        "retrieve_s": round(statistics.median(retrieve), 4),
        "served": {
            "ttft_s": round(served_ttft, 3),
            "decode_tok_s": round(statistics.median(rates), 2) if rates else None,
            "runs": served,
        },
        "unjudged": {"ttft_s": round(unjudged_ttft, 3), "runs": plain},
        "bare": {"ttft_s": round(bare_ttft, 3), "runs_s": [round(s, 3) for s in bare]},
        # The service without its verdict against bare llama.cpp: notesqa's own overhead.
        "ttft_ratio": round(unjudged_ttft / bare_ttft, 4),
        "overhead_pct": round(100 * (unjudged_ttft - bare_ttft) / bare_ttft, 2),
        # With the verdict against without, same run: what answerability costs.
        "verdict_ttft_ratio": round(served_ttft / unjudged_ttft, 4),
        "verdict_s": verdict,
        "answer": served[-1]["text"],
        "rss_mb": {
            "server": round(server_rss, 1),
            "worker": round(worker_rss, 1),
            "total": round(server_rss + worker_rss, 1),
        },
    }


def _print(r: dict[str, Any]) -> None:
    served, bare = r["served"], r["bare"]
    rate = served["decode_tok_s"]
    print(
        f"answer latency: {r['model']}, {r['threads']} threads, llama.cpp build "
        f"LLAMA_CPU={r['llama_build']}, median of {r['runs']} run(s)\n"
        f"question {r['question_id']}: {r['question']}\n"
        f"prompt: {r['prompt_tokens']} tokens ({r['prompt_tok_s']:.1f} tokens/s bare), "
        "evaluated whole every run\n"
    )
    verdict = r["verdict_s"]
    rows = [
        ["served TTFT (Answerer.stream, worker)", f"{served['ttft_s']:.3f} s"],
        ["served TTFT without the verdict", f"{r['unjudged']['ttft_s']:.3f} s"],
        ["bare TTFT (create_chat_completion)", f"{bare['ttft_s']:.3f} s"],
        [
            "served without verdict / bare",
            f"{r['ttft_ratio']:.3f}  ({r['overhead_pct']:+.1f} %, target <= "
            f"{TARGET_OVERHEAD_PCT:g} %)",
        ],
        [
            "with verdict / without",
            f"{r['verdict_ttft_ratio']:.3f}  (target <= {TARGET_VERDICT_RATIO:g})",
        ],
        [
            "refusal by verdict, model time",
            f"{verdict['cold_s']:.3f} s with the prompt pass, of which the verdict adds "
            f"{verdict['own_s']:.3f} s",
        ],
        ["verdict on the answer's read prompt", f"{verdict['cached_s']:.3f} s"],
        ["served decode", "-" if rate is None else f"{rate:.1f} tok/s"],
        [
            "peak RSS server + worker",
            f"{r['rss_mb']['server']:.0f} + {r['rss_mb']['worker']:.0f} = "
            f"{r['rss_mb']['total']:.0f} MB",
        ],
    ]
    width = max(len(row[0]) for row in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    tokens = served["runs"][-1]["tokens"]
    print(
        f"\n(retrieval, timed alone: {r['retrieve_s'] * 1000:.0f} ms of the served TTFT; "
        f"decode rate over {tokens} tokens)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
