"""Rebuilds in the background, one per knowledge base, with progress per stage.

A rebuild is the same incremental ``build_index`` the CLI runs, on a thread of the
server, embedding with the server's own (one-thread) embedder so answering keeps its
cores. Questions go on being answered from the current version; the build publishes a
complete new one atomically and the knowledge base switches to it (loading it here, so
no question waits for the load). The index's file lock keeps a CLI build and a rebuild
of the same knowledge base apart: whichever comes second is refused with a message.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.library import Library
from app.metrics import Metrics
from ingest.errors import BuildInProgressError, NotesQAError

log = logging.getLogger(__name__)
State = Literal["idle", "running", "done", "failed"]
LAST = "last_rebuild.json"  # beside the index's versions: the last rebuild, after a restart


@dataclass(slots=True)
class Stage:
    name: str
    total: int
    done: int = 0
    started_at: float | None = None
    # Seconds left at the rate so far (None before the first step, 0 when done).
    eta_s: float | None = None

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.done and self.started_at is not None:
            rate = self.done / max(time.time() - self.started_at, 1e-6)
            self.eta_s = round((self.total - self.done) / rate, 1)


@dataclass(slots=True)
class RebuildStatus:
    kb: str
    state: State = "idle"
    stages: list[Stage] = field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    report: dict[str, Any] | None = None  # the last build's report (counts, failures)
    error: dict[str, str] | None = None  # {"code", "message"} when it failed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _StageProgress:
    """``ingest.build.Progress`` that records the stages into a status."""

    def __init__(self, status: RebuildStatus, lock: threading.Lock) -> None:
        self._status = status
        self._lock = lock

    def start(self, stage: str, total: int) -> None:
        with self._lock:
            if self._status.stages:
                last = self._status.stages[-1]
                last.done, last.eta_s = last.total, 0.0
            self._status.stages.append(Stage(stage, total, started_at=time.time()))

    def advance(self, n: int = 1) -> None:
        with self._lock:
            if self._status.stages:
                self._status.stages[-1].advance(n)


class Rebuilds:
    def __init__(self, library: Library, *, metrics: Metrics | None = None) -> None:
        self.library = library
        self.metrics = metrics
        self._status: dict[str, RebuildStatus] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start_after_change(self, name: str) -> RebuildStatus:
        """The rebuild a change asked for (``?rebuild=true``), once the change is made.

        ``check_free`` came before the change; a build started since then (from another
        request or the CLI) cannot be a 409 any more, for the change stands: the status
        says it did not start and why, and the running build may or may not see it."""
        try:
            return self.start(name)
        except BuildInProgressError as exc:
            error = {"code": exc.code, "message": f"{exc}; rebuild again afterwards"}
            return RebuildStatus(name, "idle", error=error)

    def status(self, name: str) -> RebuildStatus:
        self.library.require(name)
        with self._lock:
            status = self._status.get(name) or self._last(name)
            return copy.deepcopy(status)  # the thread goes on writing the original

    def _last(self, name: str) -> RebuildStatus:
        """The last finished rebuild as recorded on disk (idle when there is none)."""
        try:
            data = json.loads((self.library.store(name).root / LAST).read_text(encoding="utf-8"))
            data["stages"] = [Stage(**s) for s in data.get("stages", [])]
            return RebuildStatus(**data)
        except (OSError, ValueError, TypeError):
            return RebuildStatus(name)

    def running(self, name: str) -> bool:
        with self._lock:
            thread = self._threads.get(name)
            return thread is not None and thread.is_alive()

    def check_free(self, name: str) -> None:
        """BuildInProgressError when a rebuild (or a CLI build) of ``name`` is running:
        asked before a change that is to start one, so a 409 means nothing changed."""
        with self._lock:
            self._check_free(name)

    def _check_free(self, name: str) -> None:
        thread = self._threads.get(name)
        if thread is not None and thread.is_alive():
            raise BuildInProgressError(f"a rebuild of {name!r} is running already")
        if self.library.store(name).locked():
            raise BuildInProgressError(
                f"another build of {name!r} is running (`notesqa build`?); "
                "try again when it has finished"
            )

    def start(self, name: str, *, full: bool = False) -> RebuildStatus:
        """Start a rebuild; BuildInProgressError when one (or a CLI build) is running."""
        self.library.require(name)
        self.library.sources(name)  # a knowledge base without a folder: say so now
        with self._lock:
            self._check_free(name)
            status = RebuildStatus(name, "running", started_at=time.time())
            self._status[name] = status
            thread = threading.Thread(
                target=self._run, args=(name, status, full), name=f"rebuild-{name}", daemon=True
            )
            self._threads[name] = thread
            thread.start()
        return self.status(name)

    def wait(self, name: str, timeout: float | None = None) -> RebuildStatus:
        with self._lock:
            thread = self._threads.get(name)
        if thread is not None:
            thread.join(timeout)
        return self.status(name)

    def _run(self, name: str, status: RebuildStatus, full: bool) -> None:
        progress = _StageProgress(status, self._lock)
        try:
            # With the model of the version serving: one built with another model (moved
            # with `notesqa build`) is rebuilt with that one, not the configured one.
            embedder, spec = self.library.get(name).current_embedding()
            report = self.library.build(
                name, embedder=embedder, spec=spec, full=full, progress=progress
            )
            kb = self.library.get(name)
            kb.load()  # switch now, so no question pays for loading the new version
            state: State = "done"
            error = None
            result: dict[str, Any] | None = asdict(report)
        except NotesQAError as exc:
            state, error, result = "failed", {"code": exc.code, "message": str(exc)}, None
        except Exception as exc:  # a bug: keep serving, report it, log the traceback
            log.exception("rebuild of %s failed", name)
            state = "failed"
            error = {"code": "internal_error", "message": f"unexpected {type(exc).__name__}"}
            result = None
        with self._lock:
            status.state = state
            status.error = error
            status.report = result
            status.finished_at = time.time()
            record = json.dumps(status.as_dict(), ensure_ascii=False)
        if self.metrics is not None and status.started_at is not None:
            took = status.finished_at - status.started_at
            self.metrics.builds.labels(name, state).observe(took)
        try:
            root = self.library.store(name).root
            (root / f"{LAST}.tmp").write_text(record, encoding="utf-8")
            (root / f"{LAST}.tmp").replace(root / LAST)
        except (OSError, NotesQAError):  # deleted meanwhile, or read-only: memory has it
            pass
        log.info("rebuild of %s: %s", name, state if error is None else error["message"])
