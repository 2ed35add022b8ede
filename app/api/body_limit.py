"""Request bodies bounded before they are read into memory.

A declared ``Content-Length`` over the limit is answered 413 at once; a body without one
(chunked) is counted as it arrives and cut off at the limit with the same 413. Document
uploads get room for ``MAX_FILES`` files of ``max_file_mb``; every other body
``limits.max_body_kb``.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.settings import Settings
from ingest.errors import TooLargeError

MAX_FILES = 20  # per upload request
_UPLOAD = re.compile(r"^/api/kbs/[^/]+/documents$")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limit = settings.limits.max_body_kb * 1024
        self.upload_limit = MAX_FILES * int(settings.max_file_mb * 1_000_000) + 1_000_000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if _UPLOAD.match(scope["path"]) else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            text = f"the request body is larger than the {limit // 1024} KB limit"
            if not length.isdigit():
                text = "the Content-Length header is not a number"
            await error_response("too_large", text, 413)(scope, receive, send)
            return
        if limit == self.upload_limit:
            await self.app(scope, _counted(receive, limit), send)
            return
        # Small bodies are read here, up to the limit, and handed on whole: the
        # framework's own body parsing would turn an error raised mid-read into a 400.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(chunks, message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                text = f"the request body is larger than the {limit // 1024} KB limit"
                await error_response("too_large", text, 413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """The body read so far as one message, then what the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent, pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        if pending is not None:
            message, pending = pending, None
            return message
        return await receive()

    return replay


def _counted(receive: Receive, limit: int) -> Receive:
    """An upload counted as it arrives; past the limit the route's read raises (413)."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLargeError(f"the upload is larger than the {limit // 1_000_000} MB limit")
        return message

    return counted
