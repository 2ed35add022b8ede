"""Running an answer for a route: a generation slot, a cancel switch, and the client watched.

Shared by the native ``/api/ask`` and the OpenAI-compatible chat endpoint, streaming or
not. The answer's events are produced in worker threads one at a time, while the event
loop watches the connection: when the client hangs up (while queued, while the model
reads the prompt, or mid-answer) the cancel switch stops the model within a token and
the slot is given back at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from app.answer import Answer, Progress
from app.api.gate import ClientGone, GenerationGate, Slot
from app.api.observe import Observer
from app.llm.base import Message
from app.service import Loaded
from ingest.errors import ShuttingDownError, TimeLimitError

Events = Generator[str | Progress | Answer, None, None]
Gone = Callable[[], Awaitable[bool]]
WATCH = 0.1  # seconds between looks at the connection while an event is produced


@dataclass(eq=False)
class AnswerRun:
    """One answer in progress; ``close`` (idempotent) stops it and frees the slot."""

    slot: Slot
    events: Events
    cancel: threading.Event
    first: str | Progress | Answer | None = None
    # Wall-clock limit (time.monotonic()); past it the model is stopped and the run
    # raises TimeLimitError, which a stream turns into its error event.
    deadline: float = float("inf")
    limit: float = 0.0
    observer: Observer | None = None
    # Set when the server shuts down: the model is stopped and the run raises.
    stopping: threading.Event | None = None
    _closed: bool = field(default=False, repr=False)
    _timed_out: bool = field(default=False, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop the model and give the slot back; call it when no event is being made."""
        if self._closed:
            return
        self._closed = True
        self.cancel.set()
        try:
            self.events.close()
        finally:
            self.slot.release()

    async def next(self, gone: Gone) -> str | Progress | Answer | None:
        """The next event (None at the end); ``ClientGone`` when the client left meanwhile."""
        item: list[str | Progress | Answer | None] = []
        failed: list[BaseException] = []

        def produce() -> None:
            # Errors are carried out of the task group by hand: it would wrap them in an
            # ExceptionGroup the routes' handlers do not know.
            try:
                item.append(next(self.events, None))
            except Exception as exc:
                failed.append(exc)

        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                while not await gone():
                    if time.monotonic() > self.deadline:
                        self._timed_out = True
                        break
                    if self.stopping is not None and self.stopping.is_set():
                        self._stopped = True
                        break
                    await anyio.sleep(WATCH)
                self.cancel.set()  # the model stops at its next token

            tasks.start_soon(watch)
            try:
                await anyio.to_thread.run_sync(produce)
            finally:
                tasks.cancel_scope.cancel()
        if self._stopped:
            raise ShuttingDownError("the server is shutting down; ask again when it is back")
        if self._timed_out:
            raise TimeLimitError(
                f"the answer took longer than its {self.limit:g} s limit and was stopped"
            )
        if self.cancel.is_set():
            raise ClientGone
        if failed:
            raise failed[0]
        if self.observer is not None:
            if isinstance(item[0], Answer):
                self.observer.answered(item[0])
            elif isinstance(item[0], str):
                self.observer.piece()
        return item[0]

    async def final(self, gone: Gone) -> Answer:
        """Run to the final Answer (a non-streaming reply), then close."""
        try:
            event = self.first
            while not isinstance(event, Answer):
                event = await self.next(gone)
                if event is None:
                    raise RuntimeError("Answerer.stream ended without an Answer")
            return event
        finally:
            await close_run(self)


async def close_run(run: AnswerRun) -> None:
    # Shielded: on a hang-up this runs inside a cancelled scope.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(run.close)


async def start_answer(
    gate: GenerationGate,
    current: Loaded,
    question: str,
    *,
    gone: Gone,
    history: list[Message],
    top_k: int | None = None,
    sources: list[str] | None = None,
    limit: float = float("inf"),
    observer: Observer | None = None,
    stopping: threading.Event | None = None,
) -> AnswerRun:
    """Wait for a slot and run the answer up to its first event.

    Bad input and "busy" raise here, while a 4xx/503 can still be sent; the slot is then
    released. Otherwise the caller owns the run and closes it when the events end.
    """
    slot = await gate.acquire(gone)
    if observer is not None:
        observer.waited(slot.waited)
    cancel = threading.Event()
    try:
        events = current.answerer.stream(
            question, history=history, top_k=top_k, sources=sources, cancel=cancel
        )
    except BaseException:
        slot.release()
        raise
    run = AnswerRun(
        slot,
        events,
        cancel,
        deadline=time.monotonic() + limit,
        limit=limit,
        observer=observer,
        stopping=stopping,
    )
    try:
        run.first = await run.next(gone)
    except BaseException:
        await close_run(run)
        raise
    return run
