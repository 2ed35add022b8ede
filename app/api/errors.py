"""One JSON error shape for every 4xx/5xx: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.gate import ClientGone
from ingest import errors as e

# The one place domain errors meet HTTP status codes.
STATUS: dict[type[e.NotesQAError], int] = {
    e.InputError: 400,
    e.ConfigError: 500,
    e.DocumentError: 400,
    e.IndexNotFoundError: 503,
    e.IndexMismatchError: 503,
    e.BuildInProgressError: 409,
    e.ModelUnavailableError: 503,
    e.UpstreamError: 502,
    e.StoreUnavailableError: 503,
    e.ChatsUnavailableError: 503,
    e.BusyError: 503,
    e.RateLimitedError: 429,
    e.TimeLimitError: 503,
    e.ShuttingDownError: 503,
    e.AlreadyExistsError: 409,
    e.InvalidTextError: 422,
    e.TooLargeError: 413,
    e.UnsupportedFileError: 415,
    e.NotFoundError: 404,
    e.AuthError: 401,
    e.ForbiddenError: 403,
}


def error_body(code: str, message: str) -> dict[str, Any]:
    # A message may quote the request (a field name, a knowledge base name): text that
    # is not valid Unicode is escaped, or the reply itself could not be encoded (a 500).
    safe = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"error": {"code": code, "message": safe}}


def error_response(
    code: str, message: str, status: int, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status, headers=headers)


def status_of(exc: e.NotesQAError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(e.NotesQAError)
    async def domain(_: Request, exc: e.NotesQAError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        if isinstance(exc, e.AuthError) and not isinstance(exc, e.ForbiddenError):
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(error_body(exc.code, str(exc)), status_of(exc), headers=headers)

    @app.exception_handler(ClientGone)
    async def gone(_: Request, exc: ClientGone) -> JSONResponse:
        # Nobody reads this; 499 (nginx's "client closed request") keeps access logs honest.
        return JSONResponse(error_body("client_gone", "the client closed the request"), 499)

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return JSONResponse(
                error_body("invalid_json", "the request body is not valid JSON"), 400
            )
        parts = []
        for err in errors[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where or 'body'}: {err.get('msg')}")
        # The same code as the domain's InvalidTextError (app.limits.check_text).
        invalid_text = any(err.get("type") == "invalid_text" for err in errors)
        code = "invalid_text" if invalid_text else "invalid_request"
        return JSONResponse(error_body(code, "; ".join(parts)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            error_body("internal_error", f"unexpected {type(exc).__name__}; see the server log"),
            500,
        )
