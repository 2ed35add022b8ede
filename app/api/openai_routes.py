"""OpenAI-compatible chat completions over the knowledge base.

The last user message is the question and earlier user/assistant messages are its
history; system messages are ignored (notesqa writes its own). The reply's sources come
in an extra top-level ``sources`` field, and in the final chunk when streaming, so the
official ``openai`` client and tools built on it work unchanged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from typing import Any

from fastapi import APIRouter

from app.answer import Answer
from app.api import sse
from app.api.answering import final_answer, start_answer
from app.api.deps import Current, Gate
from app.api.errors import NotFoundError, error_body
from app.api.schemas import ChatRequest
from app.llm.base import Message
from ingest.errors import InputError, NotesQAError

MODEL_ID = "notesqa"

router = APIRouter(prefix="/v1", tags=["openai"])


@router.get("/models")
def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "notesqa"}],
    }


def _split(body: ChatRequest) -> tuple[str, list[Message]]:
    if body.model != MODEL_ID:
        raise NotFoundError(f"unknown model {body.model!r}; this server serves {MODEL_ID!r}")
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise InputError("the last message must be the user's question")
    history = [Message("user" if m.role == "user" else "assistant", m.text()) for m in turns[:-1]]
    return turns[-1].text(), history


@router.post("/chat/completions")
def chat_completions(body: ChatRequest, current: Current, gate: Gate) -> Any:
    question, history = _split(body)
    slot, events = start_answer(gate, current, question, history=history)
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    if not body.stream:
        final = final_answer(slot, events)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
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

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse.event(
            {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    def stream() -> Generator[str, None, None]:
        try:
            yield chunk({"role": "assistant", "content": ""})
            streamed = ""
            for item in events:
                if isinstance(item, Answer):
                    # A refusal or a checked answer replaces what was streamed: send the
                    # difference when it only appends, else the final text once more.
                    rest = item.answer[len(streamed) :] if item.answer.startswith(streamed) else ""
                    if rest:
                        yield chunk({"content": rest})
                    yield chunk({}, "stop", **_extra(item))
                else:
                    streamed += item
                    yield chunk({"content": item})
            yield sse.event("[DONE]")
        except NotesQAError as exc:
            yield sse.event(error_body(exc.code, str(exc)))
        finally:
            events.close()  # on a hang-up too: the model stops
            slot.release()

    return sse.EventStream(stream())


def _extra(answer: Answer) -> dict[str, Any]:
    data = answer.as_dict()
    return {
        "sources": data["sources"],
        "refused": answer.refused,
        "flagged": answer.flagged,
        "timings": data["timings"],
    }
