"""A local generator in a supervised child process, so a native crash costs one request.

llama.cpp (and torch) run native code that can die by a signal: SIGILL when a build
uses instructions the CPU lacks, SIGSEGV/SIGABRT on a bug, SIGKILL from the kernel's
OOM killer. In the server's own process any of these ends the service; here it ends
the worker (``app.llm.worker_main``). The request in flight then gets
``GeneratorCrashedError`` (503), ``health()`` reports ``degraded`` with the reason, the
worker is restarted with backoff, and the next request is answered.

Why a worker process of our own rather than llama.cpp's server behind the ``openai``
backend: it runs both local backends (llama.cpp and transformers) the same way, keeps
exact token counting for the prompt budget (a call away, ~0.1 ms), and needs no
second HTTP stack or port.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import subprocess
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from app.llm.base import GenerationRequest, Health
from app.llm.worker_process import WorkerProcess, decode_error
from app.settings import LLMSettings
from ingest import errors

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
STABLE_AFTER = 60.0  # a worker that lived this long resets the backoff


class SupervisedGenerator:
    """The ``Generator`` protocol over a worker process, restarted when it dies."""

    # The backends that run in a worker (llama_cpp, transformers) write and judge.
    writes_text = True
    judges = True

    def __init__(self, settings: LLMSettings, *, restart: bool = True) -> None:
        self._settings = settings
        self._restart = restart
        self._name = f"{settings.backend}:{Path(settings.model_path).name}"
        self._cond = threading.Condition()
        self._worker: WorkerProcess | None = None
        self._state: Health = Health("starting", "loading the model")
        self._final: errors.NotesQAError | None = None  # a load failure or a crash loop
        self._closing = threading.Event()
        self.restarts = 0
        threading.Thread(target=self._supervise, name="model-supervisor", daemon=True).start()

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int:
        return self._settings.context_window

    @property
    def pid(self) -> int | None:
        worker = self._worker
        return worker.pid if worker is not None and not worker.exited.is_set() else None

    def health(self) -> Health:
        return self._state

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the worker answers; raise the reason it cannot."""
        self._ready_worker(timeout)

    def count_tokens(self, text: str) -> int:
        worker = self._ready_worker()
        rid, replies = worker.open()
        try:
            worker.send({"op": "count", "id": rid, "text": text})
            reply = replies.get(timeout=60)
        except (OSError, queue.Empty) as exc:
            raise errors.GeneratorCrashedError(f"the model worker did not answer: {exc}") from exc
        finally:
            worker.forget(rid)
        if "error" in reply:
            raise decode_error(reply["error"])
        return int(reply["tokens"])

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        """The worker's verdict; queued with the generations, so it runs in their order."""
        message = {"op": "judge", "messages": _chat(request), "options": list(options)}
        with contextlib.closing(self._exchange(message, request)) as replies:
            for reply in replies:
                probabilities = reply.get("probabilities")
                return [float(p) for p in probabilities] if probabilities else None
        return None  # cancelled

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        message = {
            "op": "generate",
            "messages": _chat(request),
            "question": request.question,
            "passages": list(request.passages),
            "max_new_tokens": request.max_new_tokens,
        }
        # closing: a stream closed early stops the worker's generation at once.
        with contextlib.closing(self._exchange(message, request)) as replies:
            for reply in replies:
                if "text" in reply:
                    yield reply["text"]

    def _exchange(
        self, message: dict[str, Any], request: GenerationRequest
    ) -> Generator[dict[str, Any], None, None]:
        """Send one request to the worker and yield its replies up to the last one (any
        reply without "text"); an error reply raises. Stopped early (client left,
        ``request.cancel``), it tells the worker to stop that request too."""
        worker = self._ready_worker()
        rid, replies = worker.open()
        done = False
        try:
            worker.send({**message, "id": rid})
            while not request.cancelled:
                try:
                    reply = replies.get(timeout=0.1)
                except queue.Empty:
                    continue
                if "error" in reply:
                    done = True
                    raise decode_error(reply["error"])
                done = "text" not in reply
                yield reply
                if done:
                    return
        except OSError as exc:  # the socket broke under us: the worker is gone
            done = True
            raise errors.GeneratorCrashedError(f"the model worker is gone: {exc}") from exc
        finally:
            worker.forget(rid)
            if not done:
                with contextlib.suppress(OSError):
                    worker.send({"op": "cancel", "id": rid})

    def close(self) -> None:
        """Stop the worker and do not restart it (server shutdown, end of a CLI call)."""
        self._closing.set()
        with self._cond:
            worker = self._worker
            self._cond.notify_all()
        if worker is not None:
            try:
                worker.send({"op": "stop"})
                worker.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            worker.kill()

    # -- supervision -------------------------------------------------------------------

    def _set(self, health: Health, worker: WorkerProcess | None = None) -> None:
        with self._cond:
            self._state = health
            self._worker = worker
            self._cond.notify_all()

    def _supervise(self) -> None:
        delay, crashes_in_a_row = BACKOFF_FIRST, 0
        while not self._closing.is_set():
            started = time.monotonic()
            try:
                worker = WorkerProcess(self._settings)
                worker.handshake(self._settings.worker_start_timeout)
            except (errors.GeneratorCrashedError, OSError) as exc:
                # Died while loading, or the process could not be spawned (once seen as
                # a transient EFAULT from fork/exec on a busy VM): retried with backoff.
                crashes_in_a_row += 1
                crash = (
                    exc
                    if isinstance(exc, errors.GeneratorCrashedError)
                    else errors.GeneratorCrashedError(f"the model worker could not start: {exc!r}")
                )
                if self._restart:
                    log.error("model worker died while loading: %s", crash)
                self._set(Health("degraded", str(crash)))
                if crashes_in_a_row >= 3 or not self._restart:
                    self._fail(crash)
                    return
            except Exception as exc:  # cannot load the model: no point in retrying
                failure = (
                    exc
                    if isinstance(exc, errors.NotesQAError)
                    else errors.ModelUnavailableError(f"the model worker cannot start: {exc!r}")
                )
                if self._restart:  # a one-shot caller (models check) reports it itself
                    log.error("model worker cannot start: %s", failure)
                self._fail(failure)
                return
            else:
                if self._closing.is_set():
                    worker.kill()
                    return
                crashes_in_a_row = 0
                self._set(Health("ready"), worker)
                log.info("model worker ready (pid %d, %s)", worker.pid, worker.name)
                worker.exited.wait()
                if self._closing.is_set():
                    return
                if self._restart:
                    log.error("%s", worker.exit_reason)
                self._set(Health("degraded", worker.exit_reason))
                if not self._restart:
                    self._fail(errors.GeneratorCrashedError(worker.exit_reason))
                    return
            if time.monotonic() - started > STABLE_AFTER:
                delay = BACKOFF_FIRST
            if self._closing.wait(delay):
                return
            delay = min(delay * 2, BACKOFF_MAX)
            self.restarts += 1

    def _fail(self, exc: errors.NotesQAError) -> None:
        with self._cond:
            self._final = exc
            self._state = Health("degraded", str(exc))
            self._worker = None
            self._cond.notify_all()

    def _ready_worker(self, timeout: float | None = None) -> WorkerProcess:
        first_start = self.restarts == 0 and self._state.state == "starting"
        if timeout is not None:
            wait = timeout
        elif first_start:  # still loading: a first question waits for the model
            wait = self._settings.worker_start_timeout
        else:  # restarting after a crash: a short wait, then 503 + Retry-After
            wait = self._settings.worker_wait
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._state.state == "ready"
                    or self._final is not None
                    or self._closing.is_set()
                ),
                timeout=wait,
            )
            if self._final is not None:
                raise type(self._final)(str(self._final))
            if self._state.state == "ready" and self._worker is not None:
                return self._worker
            reason = self._state.reason
        if self._closing.is_set():
            raise errors.ModelUnavailableError("the model worker is shutting down")
        raise errors.ModelUnavailableError(
            f"the model worker is not running ({reason}); it is being restarted",
            retry_after=5,
        )


def _chat(request: GenerationRequest) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in request.messages]
