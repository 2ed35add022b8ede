"""The native API: search, ask (JSON or SSE), index status and documents, each over a
knowledge base named by ``kb`` (default ``default``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.answer import Answer, Progress
from app.api import sse
from app.api.answering import start_answer
from app.api.deps import Gate, Lib, Limited, current
from app.api.errors import error_body, status_of
from app.api.observe import Observer
from app.api.schemas import (
    AskRequest,
    AskResponse,
    DocumentOut,
    DocumentsResponse,
    HitOut,
    IndexStatus,
    SearchRequest,
    SearchResponse,
)
from app.examples import example_questions
from app.explain import explain_answer, explain_search
from app.library import DEFAULT
from app.llm.base import Message
from app.settings import Settings
from ingest.errors import NotesQAError

router = APIRouter(prefix="/api", tags=["notesqa"])


@router.post("/search")
def search(body: SearchRequest, library: Lib) -> SearchResponse:
    loaded = current(library, body.kb)
    result = loaded.search(body.query, top_k=body.top_k, sources=body.sources)
    explained = None
    if body.explain:
        explained = explain_search(
            body.query, result, index=loaded.retriever.index, settings=library.settings
        ).as_dict()
    return SearchResponse(
        kb=body.kb,
        hits=[HitOut.model_validate(h.as_dict() | {"scores": h.scores}) for h in result.hits],
        found=result.found,
        translation=result.translation,
        explain=explained,
    )


def answer_reply(answer: Answer, settings: Settings, *, explain: bool) -> dict[str, Any]:
    data = answer.as_dict()
    if explain:
        data["explain"] = explain_answer(answer, settings=settings).as_dict()
    return data


class NativeEvents:
    """``stage`` events as each stage begins, ``token`` events as the model writes, then
    ``done`` with the reply, or ``error``."""

    def __init__(self, settings: Settings, *, explain: bool) -> None:
        self._settings = settings
        self._explain = explain

    def start(self) -> list[str]:
        return []

    def item(self, item: str | Progress | Answer) -> list[str]:
        if isinstance(item, Answer):
            reply = answer_reply(item, self._settings, explain=self._explain)
            return [sse.event(reply, name="done")]
        if isinstance(item, Progress):
            return [sse.event(item.as_dict(), name="stage")]
        return [sse.event({"text": item}, name="token")]

    def error(self, exc: NotesQAError) -> list[str]:
        body = error_body(exc.code, str(exc)) | {"status": status_of(exc)}
        return [sse.event(body, name="error")]

    def end(self) -> list[str]:
        return []


@router.post(
    "/ask",
    dependencies=[Limited],
    response_model=AskResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON or SSE"}},
)
async def ask(
    body: AskRequest, request: Request, library: Lib, gate: Gate
) -> AskResponse | sse.RunStream:
    loaded = current(library, body.kb)
    history = [Message(t.role, t.content) for t in body.history]
    gone = request.is_disconnected
    run = await start_answer(
        gate,
        loaded,
        body.question,
        gone=gone,
        history=history,
        top_k=body.top_k,
        sources=body.sources,
        limit=library.settings.limits.generation_seconds,
        observer=Observer.of(request, kb=body.kb, question=body.question),
        stopping=request.app.state.stopping,
    )
    if not body.stream:
        final = await run.final(gone)
        return AskResponse.model_validate(
            answer_reply(final, library.settings, explain=body.explain)
        )
    return sse.RunStream(run, NativeEvents(library.settings, explain=body.explain))


@router.get("/index")
def index_status(library: Lib, kb: str = DEFAULT) -> IndexStatus:
    loaded = current(library, kb)
    index = loaded.retriever.index
    m = index.manifest
    return IndexStatus(
        index=kb,
        version=loaded.version,
        embedding_model=m.embedding_model,
        dim=m.dim,
        chunking=m.chunking,
        documents=len(m.documents),
        chunks=m.chunks,
        built_at=m.built_at,
        llm={"backend": library.settings.llm.backend, "model": library.models.generator.name},
        examples=example_questions(index.headings()),
    )


@router.get("/documents")
def documents(library: Lib, kb: str = DEFAULT) -> DocumentsResponse:
    """What the served version of ``kb`` holds (``/api/kbs/{kb}/documents`` also lists
    the files of its folder that are not indexed yet)."""
    m = current(library, kb).retriever.index.manifest
    return DocumentsResponse(
        documents=[
            DocumentOut(
                source=r.source,
                title=r.title,
                chunks=r.chunks,
                indexed_at=r.indexed_at,
                size=r.size,
                pages=r.pages,
            )
            for r in sorted(m.documents.values(), key=lambda r: r.source)
        ]
    )
