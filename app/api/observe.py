"""Request logs and metrics: one middleware around every request, one observer per answer.

Each request gets an id (``X-Request-ID`` when the client sent a sane one, else a new
one), returned in the response, and one log line when it ends (for a stream: when the
stream ends): id, method, route, status, seconds, and the refusal stage of an answer.
Lines are ``key=value`` text, or JSON with ``server.log_format: json``. A question's
text is logged only with ``server.log_questions: true``; keys and tokens never are (the
Authorization header is not read here).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.answer import Answer
from app.metrics import Metrics
from app.settings import ServerSettings

log = logging.getLogger("notesqa.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, *, server: ServerSettings, metrics: Metrics) -> None:
        self.app = app
        self.json = server.log_format == "json"
        self.questions = server.log_questions
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._done(scope, rid, status, time.perf_counter() - started)

    def _done(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "other"
        self.metrics.requests.labels(template, scope["method"], str(status)).inc()
        self.metrics.latency.labels(template).observe(seconds)
        state = scope.get("state", {})
        line: dict[str, Any] = {
            "request_id": rid,
            "method": scope["method"],
            "route": template,
            "status": status,
            "seconds": round(seconds, 4),
        }
        if state.get("kb"):
            line["kb"] = state["kb"]
        if state.get("refusal"):
            line["refusal"] = state["refusal"]
        if self.questions and state.get("question"):
            line["question"] = state["question"]
        if self.json:
            log.info("%s", json.dumps(line, ensure_ascii=False))
        else:
            log.info("%s", " ".join(f"{k}={v}" for k, v in line.items()))


@dataclass(slots=True)
class Observer:
    """What one answer reports as it runs: the wait for its turn, pieces, the answer."""

    metrics: Metrics
    request: Request

    def waited(self, seconds: float) -> None:
        self.metrics.queue_wait.observe(seconds)

    def piece(self) -> None:
        self.metrics.pieces.inc()

    def answered(self, answer: Answer) -> None:
        self.metrics.answered(answer)
        if answer.refusal is not None:
            self.request.state.refusal = answer.refusal.stage

    @classmethod
    def of(cls, request: Request, *, kb: str, question: str) -> Observer:
        request.state.kb = kb
        request.state.question = question
        metrics: Metrics = request.app.state.metrics
        return cls(metrics, request)
