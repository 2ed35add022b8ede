"""Serialized generation behind a bounded queue.

On a CPU box two generations at once are each slower than one after the other, so one
runs at a time; up to ``queue_size`` more wait. Past that the API answers 503 with
Retry-After instead of piling up work nobody will wait for.
"""

from __future__ import annotations

import threading

from ingest.errors import BusyError


class Slot:
    """A turn to generate; ``release`` may be called more than once and from any thread."""

    def __init__(self, gate: GenerationGate) -> None:
        self._gate = gate
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._gate._leave()


class GenerationGate:
    def __init__(self, queue_size: int) -> None:
        self._run = threading.Lock()  # a plain Lock: a streaming reply releases it elsewhere
        self._count = threading.Lock()
        self._inside = 0  # waiting or running
        self._limit = queue_size + 1

    def acquire(self) -> Slot:
        """Wait for this request's turn; ``BusyError`` at once when the queue is full."""
        with self._count:
            if self._inside >= self._limit:
                raise BusyError(
                    "the server is busy answering other questions; try again shortly",
                    retry_after=10,
                )
            self._inside += 1
        self._run.acquire()
        return Slot(self)

    def _leave(self) -> None:
        self._run.release()
        with self._count:
            self._inside -= 1

    @property
    def load(self) -> int:
        return self._inside
