"""create_app: the FastAPI application for one Settings object."""

from __future__ import annotations

from fastapi import FastAPI

from app.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="notesqa", version="0.1.0")
    app.state.settings = settings

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return app
