"""Serialized generation behind a bounded queue.

On a CPU box two generations at once are each slower than one after the other, so one
runs at a time; up to ``queue_size`` more wait. Past that the API answers 503 with
Retry-After instead of piling up work nobody will wait for. A waiter leaves the queue
when its client hangs up or when it has waited ``timeout`` seconds (503 again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

import anyio.to_thread

from ingest.errors import BusyError

POLL = 0.2  # seconds between looks at the client while waiting


class ClientGone(Exception):
    """The client hung up; nothing is sent back."""


class Slot:
    """A turn to generate; ``release`` may be called more than once and from any thread."""

    def __init__(self, gate: GenerationGate, *, waited: float = 0.0) -> None:
        self._gate = gate
        self.waited = waited  # seconds spent in the queue
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._gate._run.release()
        self._gate._leave()


class GenerationGate:
    def __init__(self, queue_size: int, *, timeout: float = 120.0) -> None:
        self._run = threading.Lock()  # a plain Lock: a streaming reply releases it elsewhere
        self._count = threading.Lock()
        self._inside = 0  # waiting or running
        self._limit = queue_size + 1
        self.timeout = timeout

    async def acquire(self, gone: Callable[[], Awaitable[bool]]) -> Slot:
        """Wait for this request's turn.

        ``BusyError`` at once when the queue is full, or after ``timeout`` seconds in it;
        ``ClientGone`` as soon as ``gone()`` says the client left.
        """
        with self._count:
            if self._inside >= self._limit:
                raise BusyError(
                    "the server is busy answering other questions; try again shortly",
                    retry_after=10,
                )
            self._inside += 1
        got: list[bool] = []

        def attempt() -> None:
            # The result is kept outside the call: a cancelled await would lose it, and
            # with it the lock.
            if self._run.acquire(timeout=POLL):
                got.append(True)

        entered = time.monotonic()
        deadline = entered + self.timeout
        try:
            while True:
                await anyio.to_thread.run_sync(attempt)
                if got:
                    if await gone():
                        raise ClientGone
                    return Slot(self, waited=time.monotonic() - entered)
                if await gone():
                    raise ClientGone
                if time.monotonic() > deadline:
                    raise BusyError(
                        f"waited {self.timeout:g} s for a turn to answer; the server is busy, "
                        "try again shortly",
                        retry_after=10,
                    )
        except BaseException:
            if got:
                self._run.release()
            self._leave()
            raise

    def _leave(self) -> None:
        with self._count:
            self._inside -= 1

    @property
    def load(self) -> int:
        return self._inside
