"""create_app: the FastAPI application for one Settings object; server_config, how
uvicorn runs it; GracefulServer, the uvicorn server that ends answers in flight when it
is told to stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client.core import GaugeMetricFamily, Metric

from app import names
from app.api import chat_routes, errors, kb_routes, openai_routes, routes
from app.api.access import AccessMiddleware, api_keys
from app.api.body_limit import BodyLimitMiddleware
from app.api.deps import Lib
from app.api.gate import GenerationGate
from app.api.observe import RequestLogMiddleware
from app.api.openapi import document_errors
from app.library import DEFAULT, Library
from app.limits import RateLimiter
from app.llm.base import Generator
from app.metrics import CONTENT_TYPE, Metrics, counter, gauge
from app.rebuilds import Rebuilds
from app.service import Models
from app.settings import ServerSettings, Settings
from ingest.errors import ConfigError, NotesQAError

WEB = Path(__file__).resolve().parent.parent / "web"
log = logging.getLogger("notesqa")


def create_app(settings: Settings, *, generator: Generator | None = None) -> FastAPI:
    """The app; ``generator`` replaces the configured one (tests use a scripted one)."""
    library = Library(settings, Models(settings, generator=generator))
    warmed = threading.Event()  # /readyz says ready once the warm-up below is done

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Load models and the index in the background: /healthz answers at once, /readyz
        # once everything is loaded.
        # The other knowledge bases load on their first question.
        def warm() -> None:
            kb = library.get(DEFAULT)
            try:
                # One search and the constraints' tagger warm what the first question
                # would otherwise wait for (jieba's dictionaries, the embedder's first
                # run): ready means ready.
                kb.load().retriever.search("warm up 预热")
                names.warm()
                log.info("notesqa ready: index %s, model %s", kb.name, kb.generator.name)
            except NotesQAError as exc:
                kb.error = exc
                log.error("notesqa not ready: %s", exc)
            finally:
                warmed.set()

        threading.Thread(target=warm, name="notesqa-warm", daemon=True).start()
        marker = library.mark_serving(os.getpid())
        try:
            yield
        finally:
            stopping.set()
            marker.unlink(missing_ok=True)
            library.close()  # stops the model worker

    app = FastAPI(
        title="notesqa",
        version="0.1.0",
        description="Questions over your notes, answered with citations by a local model.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    stopping = threading.Event()
    app.state.settings = settings
    app.state.library = library
    app.state.metrics = metrics
    app.state.stopping = stopping
    app.state.rebuilds = Rebuilds(library, metrics=metrics)
    app.state.keyed = bool(api_keys(settings))  # conversations are then kept per key
    rate = settings.limits.rate_per_minute
    app.state.limiter = RateLimiter(rate, settings.limits.rate_burst) if rate else None
    app.state.gate = GenerationGate(
        settings.server.queue_size, timeout=settings.server.queue_timeout
    )
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(AccessMiddleware, settings=settings)  # Host and API key, first
    if settings.server.cors_origins:  # outside those: preflights carry no key
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
        )
    # Outermost: every request is counted and logged, refused ones too.
    app.add_middleware(RequestLogMiddleware, server=settings.server, metrics=metrics)
    metrics.watch(lambda: _live_metrics(library, app.state.gate))
    app.include_router(routes.router)
    app.include_router(kb_routes.router)
    app.include_router(chat_routes.router)
    app.include_router(chat_routes.export_router)
    app.include_router(openai_routes.router)
    document_errors(app)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics_page() -> Response:
        """Prometheus metrics (README "Running it for a team")."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz(library: Lib) -> Any:
        """200 when questions can be answered; 503 with ``status`` loading or degraded.

        ``degraded``: the index serves (search works) but the model cannot answer now,
        with the reason (the worker died and is restarting, or cannot load the model).
        """
        kb = library.get(DEFAULT)
        if not kb.ready or not warmed.is_set():
            message = str(kb.error) if kb.error else "loading the index and models"
            code = kb.error.code if kb.error else "loading"
            return JSONResponse({"status": "loading", **errors.error_body(code, message)}, 503)
        health = kb.generator_health()
        if health.state == "ready":
            ready: dict[str, Any] = {
                "status": "ready",
                "index": kb.name,
                "model": kb.generator.name,
            }
            if kb.problems:  # serving an older intact version: say why
                ready["warnings"] = kb.problems
            return ready
        code = "model_unavailable" if health.state == "degraded" else "loading"
        status = "degraded" if health.state == "degraded" else "loading"
        body = {"status": status, "reason": health.reason, "index": kb.name}
        return JSONResponse(body | errors.error_body(code, health.reason), 503)

    if WEB.is_dir():
        app.mount("/static", StaticFiles(directory=WEB), name="static")

        @app.get("/", include_in_schema=False)
        def index_page() -> FileResponse:
            return FileResponse(WEB / "index.html")

    return app


def _live_metrics(library: Library, gate: GenerationGate) -> Iterator[Metric]:
    """What is read when scraped: index sizes per knowledge base, queue, restarts."""
    documents = GaugeMetricFamily("notesqa_index_documents", "Documents indexed", labels=["kb"])
    chunks = GaugeMetricFamily("notesqa_index_chunks", "Chunks indexed", labels=["kb"])
    for name in library.names():
        try:
            info = library.info(name)
        except NotesQAError:  # damaged or deleted meanwhile: no figure
            continue
        if info.indexed:
            documents.add_metric([name], info.documents)
            chunks.add_metric([name], info.chunks)
    yield documents
    yield chunks
    yield gauge("notesqa_queue_depth", "Questions generating or waiting to", gate.load)
    yield counter(
        "notesqa_model_worker_restarts", "Model worker restarts", library.models.restarts()
    )


def server_config(app: FastAPI, server: ServerSettings, *, log_level: str) -> uvicorn.Config:
    """How uvicorn serves ``app`` on ``server.host:server.port``: the one place, for
    `notesqa serve` and the tests' servers alike."""
    proxies = server.trusted_proxies
    return uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        log_level=log_level,
        access_log=False,  # request lines are notesqa's own (app.api.observe)
        # X-Forwarded-* only from configured proxies: uvicorn would otherwise believe
        # any request from 127.0.0.1, such as a local page's or another user's.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) if proxies else None,
        # Answers in flight are told to end at once (GracefulServer); this bounds
        # what is left: SIGTERM stops the server within this many seconds.
        timeout_graceful_shutdown=10,
    )


def check_listen(server: ServerSettings) -> None:
    """ConfigError unless ``server.host:server.port`` can be listened on (a port in use,
    a name that does not resolve, an address not this machine's): said in one line
    before the models load, not by uvicorn's log lines after it."""
    where = f"{server.host}:{server.port}"
    try:
        infos = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {where}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: a port in TIME_WAIT is free, one being listened on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None


class GracefulServer(uvicorn.Server):
    """uvicorn's server; told to stop (SIGINT, SIGTERM), it first tells every answer in
    flight to end (its stream ends with a ``shutting_down`` error event), so the
    connections close and the process exits in seconds, not after the longest answer."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app = self.config.app
        if isinstance(app, FastAPI):
            app.state.stopping.set()
        super().handle_exit(sig, frame)
