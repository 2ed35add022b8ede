"""Server-sent events: the framing shared by the native and the OpenAI-compatible API."""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any

import anyio
import anyio.to_thread
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)


def event(data: Any, *, name: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStream(StreamingResponse):
    """A ``text/event-stream`` reply over a generator that is closed however it ends.

    When a client hangs up mid-answer, Starlette drops the iterator without closing it,
    so its ``finally`` (which gives the generation slot back) ran only whenever the
    garbage collector found it: until then every later question waited in the queue.
    """

    def __init__(self, events: Generator[str, None, None]) -> None:
        super().__init__(events, media_type="text/event-stream", headers=HEADERS)
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: on a hang-up this runs inside a cancelled scope. The generator is
            # not executing here, as cancelling a thread call waits for it to return.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        try:
            self._events.close()
        except ValueError:  # still executing in a worker thread: it ends on its own
            log.warning("an event stream could not be closed after the client left")
