"""Dependencies the routes share: the knowledge bases, rebuilds, the generation gate and
the admin check of the changing endpoints."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.api.gate import GenerationGate
from app.library import Library
from app.limits import RateLimiter
from app.rebuilds import Rebuilds
from app.service import KnowledgeBase, Loaded
from app.settings import Settings
from ingest.errors import AuthError, ForbiddenError


def get_library(request: Request) -> Library:
    library: Library = request.app.state.library
    return library


def get_rebuilds(request: Request) -> Rebuilds:
    rebuilds: Rebuilds = request.app.state.rebuilds
    return rebuilds


def get_gate(request: Request) -> GenerationGate:
    gate: GenerationGate = request.app.state.gate
    return gate


def current(library: Library, kb: str) -> Loaded:
    """The current index version of knowledge base ``kb`` (404 unknown, 503 unbuilt)."""
    return library.get(kb).load()


def require_admin(request: Request) -> None:
    """The admin endpoints (changing knowledge bases, the feedback export): off (403)
    without an admin token configured, else they need ``Authorization: Bearer <token>``
    (401), compared in constant time."""
    settings: Settings = request.app.state.settings
    token = settings.admin_token
    if token is None or not token.get_secret_value():
        raise ForbiddenError(
            "the admin endpoints (changing knowledge bases, exporting feedback) are turned "
            "off: start the server with NOTESQA_ADMIN_TOKEN set to turn them on"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8"), expected
    ):
        raise AuthError("this endpoint needs the admin token: Authorization: Bearer <token>")


def rate_limit(request: Request) -> None:
    """One question spent from the client's bucket (429 past it); off by default."""
    limiter: RateLimiter | None = request.app.state.limiter
    if limiter is not None:
        address = request.client.host if request.client else ""
        limiter.take(RateLimiter.client(request.headers.get("authorization", ""), address))


Lib = Annotated[Library, Depends(get_library)]
Jobs = Annotated[Rebuilds, Depends(get_rebuilds)]
Gate = Annotated[GenerationGate, Depends(get_gate)]
Admin = Depends(require_admin)
Limited = Depends(rate_limit)
__all__ = ["Admin", "Gate", "Jobs", "KnowledgeBase", "Lib", "Limited", "current"]
