"""The native API: search, ask (JSON or SSE), index status and documents."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.answer import Answer
from app.api import sse
from app.api.answering import start_answer
from app.api.deps import KB, Current, Gate
from app.api.errors import error_body, status_of
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
from app.llm.base import Message
from ingest.errors import NotesQAError

router = APIRouter(prefix="/api", tags=["notesqa"])


@router.post("/search")
def search(body: SearchRequest, current: Current) -> SearchResponse:
    result = current.search(body.query, top_k=body.top_k, sources=body.sources)
    return SearchResponse(
        hits=[HitOut.model_validate(h.as_dict()) for h in result.hits], found=result.found
    )


class NativeEvents:
    """``token`` events as the model writes, then ``done`` with the reply, or ``error``."""

    def start(self) -> list[str]:
        return []

    def item(self, item: str | Answer) -> list[str]:
        if isinstance(item, Answer):
            return [sse.event(item.as_dict(), name="done")]
        return [sse.event({"text": item}, name="token")]

    def error(self, exc: NotesQAError) -> list[str]:
        body = error_body(exc.code, str(exc)) | {"status": status_of(exc)}
        return [sse.event(body, name="error")]

    def end(self) -> list[str]:
        return []


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON or SSE"}},
)
async def ask(
    body: AskRequest, request: Request, current: Current, gate: Gate
) -> AskResponse | sse.RunStream:
    history = [Message(t.role, t.content) for t in body.history]
    gone = request.is_disconnected
    run = await start_answer(
        gate,
        current,
        body.question,
        gone=gone,
        history=history,
        top_k=body.top_k,
        sources=body.sources,
    )
    if not body.stream:
        return AskResponse.model_validate((await run.final(gone)).as_dict())
    return sse.RunStream(run, NativeEvents())


@router.get("/index")
def index_status(kb: KB, current: Current) -> IndexStatus:
    m = current.retriever.index.manifest
    return IndexStatus(
        index=kb.store.name,
        version=current.version,
        embedding_model=m.embedding_model,
        dim=m.dim,
        chunking=m.chunking,
        documents=len(m.documents),
        chunks=m.chunks,
        built_at=m.built_at,
        llm={"backend": kb.settings.llm.backend, "model": kb.generator.name},
    )


@router.get("/documents")
def documents(current: Current) -> DocumentsResponse:
    m = current.retriever.index.manifest
    return DocumentsResponse(
        documents=[
            DocumentOut(
                source=r.source,
                chunks=r.chunks,
                indexed_at=r.indexed_at,
                size=r.size,
                pages=r.pages,
            )
            for r in sorted(m.documents.values(), key=lambda r: r.source)
        ]
    )
