"""The native API: search, ask (JSON or SSE), index status and documents."""

from __future__ import annotations

from collections.abc import Generator

from fastapi import APIRouter

from app.answer import Answer
from app.api import sse
from app.api.answering import final_answer, start_answer
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
    result = current.retriever.search(body.query, top_k=body.top_k, sources=body.sources)
    return SearchResponse(
        hits=[HitOut.model_validate(h.as_dict()) for h in result.hits], found=result.found
    )


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON or SSE"}},
)
def ask(body: AskRequest, current: Current, gate: Gate) -> AskResponse | sse.EventStream:
    history = [Message(t.role, t.content) for t in body.history]
    slot, events = start_answer(
        gate, current, body.question, history=history, top_k=body.top_k, sources=body.sources
    )
    if not body.stream:
        return AskResponse.model_validate(final_answer(slot, events).as_dict())

    def stream() -> Generator[str, None, None]:
        try:
            for item in events:
                if isinstance(item, Answer):
                    yield sse.event(item.as_dict(), name="done")
                else:
                    yield sse.event({"text": item}, name="token")
        except NotesQAError as exc:
            body = error_body(exc.code, str(exc)) | {"status": status_of(exc)}
            yield sse.event(body, name="error")
        finally:
            events.close()  # on a hang-up too: the model stops
            slot.release()

    return sse.EventStream(stream())


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
