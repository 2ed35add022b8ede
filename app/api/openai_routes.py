"""OpenAI-compatible chat completions over the knowledge base.

The last user message is the question and earlier user/assistant messages are its
history; system messages are ignored (notesqa writes its own). Each knowledge base is a
model: ``notesqa`` is the default one, ``notesqa:<name>`` another (``/v1/models``). The
reply's sources come in an extra top-level ``sources`` field, and in the final chunk when
streaming, so the official ``openai`` client and tools built on it work unchanged.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request

from app.answer import Answer, Progress
from app.api import sse
from app.api.answering import start_answer
from app.api.deps import Gate, Lib, Limited, current
from app.api.errors import error_body
from app.api.observe import Observer
from app.api.schemas import ChatRequest
from app.lang import detect_lang
from app.library import DEFAULT, Library
from app.llm.base import Message
from ingest.errors import InputError, NotesQAError, NotFoundError

MODEL_ID = "notesqa"

router = APIRouter(prefix="/v1", tags=["openai"])


def model_id(kb: str) -> str:
    return MODEL_ID if kb == DEFAULT else f"{MODEL_ID}:{kb}"


def kb_of(model: str, library: Library) -> str:
    """The knowledge base a model id names (NotFoundError for any other model)."""
    name = DEFAULT if model == MODEL_ID else model.removeprefix(f"{MODEL_ID}:")
    if name == model or not library.exists(name):
        served = ", ".join(model_id(n) for n in library.names())
        raise NotFoundError(f"unknown model {model[:80]!r}; this server serves: {served}")
    return name


@router.get("/models")
def models(library: Lib) -> dict[str, Any]:
    """One model per knowledge base."""
    return {
        "object": "list",
        "data": [
            {"id": model_id(n), "object": "model", "created": 0, "owned_by": "notesqa"}
            for n in library.names()
        ],
    }


def _split(body: ChatRequest) -> tuple[str, list[Message]]:
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise InputError("the last message must be the user's question")
    history = [Message("user" if m.role == "user" else "assistant", m.text()) for m in turns[:-1]]
    return turns[-1].text(), history


@router.post("/chat/completions", dependencies=[Limited])
async def chat_completions(body: ChatRequest, request: Request, library: Lib, gate: Gate) -> Any:
    kb = kb_of(body.model, library)
    question, history = _split(body)
    loaded = current(library, kb)
    gone = request.is_disconnected
    run = await start_answer(
        gate,
        loaded,
        question,
        gone=gone,
        history=history,
        limit=library.settings.limits.generation_seconds,
        observer=Observer.of(request, kb=kb, question=question),
        stopping=request.app.state.stopping,
    )
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return sse.RunStream(run, ChunkEvents(cid, created, body.model))
    final = await run.final(gone)
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": final.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **_extra(final),
    }


class ChunkEvents:
    """``chat.completion.chunk`` events, then ``[DONE]``; an error as an error body."""

    def __init__(self, cid: str, created: int, model: str) -> None:
        self._cid = cid
        self._created = created
        self._model = model
        self._streamed = ""

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse.event(
            {
                "id": self._cid,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    def start(self) -> list[str]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def item(self, item: str | Progress | Answer) -> list[str]:
        if isinstance(item, Progress):
            return []  # OpenAI's chunks have no place for stages
        if not isinstance(item, Answer):
            self._streamed += item
            return [self._chunk({"content": item})]
        # A refusal or a checked answer replaces what was streamed. A delta can only
        # append, so: the difference when the final text extends what was streamed, else
        # the final text under a line saying what happened to the streamed one, as the
        # CLI prints it; a client must never end on words the checks withdrew.
        streamed = self._streamed
        if item.answer.startswith(streamed):
            rest = item.answer[len(streamed) :]
        else:
            rest = f"\n\n{_correction(item)}\n{item.answer}"
        out = [self._chunk({"content": rest})] if rest else []
        return [*out, self._chunk({}, "stop", **_extra(item))]

    def error(self, exc: NotesQAError) -> list[str]:
        return [sse.event(error_body(exc.code, str(exc)))]

    def end(self) -> list[str]:
        return [sse.event("[DONE]")]


_CORRECTIONS = {
    "zh": ("（以上流式输出的回答已撤回：笔记不支持）", "（已根据笔记核对：）"),
    "en": ("(withdrawn: not supported by the notes)", "(checked against the notes:)"),
}


def _correction(answer: Answer) -> str:
    withdrawn, checked = _CORRECTIONS["zh" if detect_lang(answer.answer) == "zh" else "en"]
    return withdrawn if answer.refused else checked


def _extra(answer: Answer) -> dict[str, Any]:
    data = answer.as_dict()
    return {
        "sources": data["sources"],
        "refused": answer.refused,
        "refusal": data["refusal"],
        "flagged": answer.flagged,
        "timings": data["timings"],
    }
