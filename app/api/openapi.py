"""The OpenAPI schema with the errors the API really returns.

FastAPI documents a ``{"detail": [...]}`` body for 422 and nothing else; notesqa answers
every error with ``{"error": {"code", "message"}}`` (``app.api.errors``). This replaces
the default and lists, for each route, the statuses it can give.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

WHY = {
    400: "bad input, or a host name this server does not answer to",
    401: "an API key (or the admin token) is needed",
    403: "the admin endpoints are turned off (no admin token configured)",
    404: "no such knowledge base, document or model",
    409: "a rebuild or build is running, or the name exists",
    413: "the body, a question, its history or an upload is too large",
    415: "an upload whose type is not allowed or whose content is not what it says",
    422: "the request does not match the schema, or holds text that is not valid Unicode",
    429: "this key asked more often than its rate allows",
    502: "the OpenAI-compatible upstream model failed or timed out",
    503: "the index is not built or is damaged, the model is not ready, the queue is full, "
    "an answer ran too long, or this server keeps no conversations",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
COMMON = (400, 401, 413, 422)


# Routes that read an index version: 503 when it is not built yet, or every version on
# disk is damaged (README "Faults").
READS_INDEX = (
    ("post", "/api/search"),
    ("post", "/api/ask"),
    ("get", "/api/index"),
    ("get", "/api/documents"),
    ("post", "/v1/chat/completions"),
    ("get", "/api/kbs/{name}/documents/{doc_id}/text"),
)
# Routes that generate: a full queue or an answer past its limit (503), the rate limit
# (429), an OpenAI-compatible upstream model that failed (502).
GENERATES = (("post", "/api/ask"), ("post", "/v1/chat/completions"))


def _statuses(path: str, method: str) -> tuple[int, ...]:
    found = set(COMMON)
    kb_routes = ("/api/search", "/api/ask", "/api/index", "/api/documents", "/v1/chat")
    if "{" in path or path.startswith(kb_routes):
        found |= {404}  # an unknown knowledge base (or model)
    if (method, path) in READS_INDEX:
        found |= {503}
    if (method, path) in GENERATES:
        found |= {429, 502, 503}
    if path.startswith("/api/kbs") and method != "get":
        found |= {403, 409}
    if path.endswith("/documents") and method == "post":
        found |= {415}
    if path.startswith("/api/conversations"):  # ?kb= unknown; kept nowhere on this server
        found |= {404, 503}
    if path == "/api/kbs/{name}/feedback":  # the admin's; read from the conversations
        found |= {403, 503}
    if path == "/readyz":
        found = {400, 503}
    if path == "/healthz":
        found = {400}
    return tuple(sorted(found))


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe notesqa's error bodies and statuses."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/Error"}
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in _statuses(path, method):
                    responses[str(status)] = {
                        "description": WHY[status],
                        "content": {"application/json": {"schema": ref}},
                    }
        app.openapi_schema = spec
        return spec

    app.openapi = schema  # type: ignore[method-assign]
