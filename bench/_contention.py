"""Search latency while something else uses the cores: a build, or a generation.

For each query-embedding thread count (1, and every core), times one search per
question quiet, beside one other busy process at normal priority (any program the
user runs), while ``notesqa build --full`` of the notes runs into a scratch index (as a
user rebuilding beside a server does, at the CLI's low priority), and while the model
generates in its worker process. Used by ``bench/query.py --contention``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTLE = 3.0  # seconds for the background work to reach its busy part


def contention_run(
    settings: Settings,
    questions: Sequence[str],
    summary: Callable[[Sequence[float]], dict[str, Any]],
) -> dict[str, Any]:
    from app.wiring import embedder_from, retriever_from

    cores = len(os.sched_getaffinity(0))
    out: dict[str, Any] = {"cores": cores, "by_query_threads": {}}
    for threads in sorted({1, cores}):
        embedding = settings.embedding.model_copy(update={"query_threads": threads})
        tuned = settings.model_copy(update={"embedding": embedding})
        retriever = retriever_from(tuned, embedder=embedder_from(tuned, for_queries=True))

        def searches(retriever: Any = retriever) -> dict[str, Any]:
            seconds = []
            for q in questions:
                t0 = time.perf_counter()
                retriever.search(q)
                seconds.append(time.perf_counter() - t0)
            return summary(seconds)

        searches()  # warm
        row = {"quiet": searches()}
        with _spinning():
            row["beside_busy_process"] = searches()
        with _building(settings):
            row["during_build"] = searches()
        with _generating(settings):
            row["during_generation"] = searches()
        out["by_query_threads"][str(threads)] = row
    return out


@contextmanager
def _spinning() -> Iterator[None]:
    """One process burning a core at normal priority."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


@contextmanager
def _building(settings: Settings) -> Iterator[None]:
    """``notesqa build --full`` of docs_dir into a scratch index, over and over."""
    with tempfile.TemporaryDirectory() as scratch:
        env = os.environ | {"NOTESQA_INDEX_DIR": scratch}
        command = [sys.executable, "-m", "app.cli", "build", "--full", str(settings.docs_dir)]
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)

        worker = threading.Thread(target=loop, daemon=True)
        worker.start()
        time.sleep(SETTLE)
        try:
            yield
        finally:
            stop.set()
            worker.join()


@contextmanager
def _generating(settings: Settings) -> Iterator[None]:
    """The configured model writing long answers in its worker, one after another."""
    from app.llm import make_generator
    from app.llm.base import Closeable, GenerationRequest, Message

    generator = make_generator(settings.llm)
    stop = threading.Event()
    started = threading.Event()

    def loop() -> None:
        prompt = [Message("user", "请详细介绍深度学习的发展历史，至少写五段。")]
        while not stop.is_set():
            request = GenerationRequest(prompt, max_new_tokens=400, cancel=stop)
            for _ in generator.stream(request):
                started.set()

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    started.wait(300)
    try:
        yield
    finally:
        stop.set()
        worker.join()
        if isinstance(generator, Closeable):
            generator.close()
