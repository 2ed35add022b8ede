"""Server-sent events: the framing and the streaming reply shared by both ask APIs."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.answer import Answer, Progress
from app.api.answering import AnswerRun, close_run
from app.api.gate import ClientGone
from ingest.errors import NotesQAError

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: Any, *, name: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


class Renderer(Protocol):
    """How one API spells an answer's events."""

    def start(self) -> list[str]: ...

    def item(self, item: str | Progress | Answer) -> list[str]: ...

    def error(self, exc: NotesQAError) -> list[str]: ...

    def end(self) -> list[str]: ...


class RunStream(Response):
    """A ``text/event-stream`` reply over an ``AnswerRun``, closed however it ends.

    The run is closed (model stopped, slot given back) when the answer ends, when the
    client hangs up, and when the server cancels the response, even if no byte was sent.
    """

    media_type = "text/event-stream"

    def __init__(self, run: AnswerRun, renderer: Renderer) -> None:
        # Not Response.__init__: it would declare a Content-Length for an empty body.
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self._run = run
        self._renderer = renderer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = Request(scope, receive).is_disconnected  # looks without waiting

        async def write(chunks: list[str]) -> None:
            for chunk in chunks:
                await send(
                    {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                )

        render = self._renderer
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await write(render.start())
            item = self._run.first
            while item is not None:
                await write(render.item(item))
                try:
                    item = await self._run.next(gone)
                except NotesQAError as exc:
                    await write(render.error(exc))
                    break
            else:
                await write(render.end())
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (ClientGone, OSError):  # the client left: nobody to tell
            pass
        finally:
            await close_run(self._run)
