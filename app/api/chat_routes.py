"""Conversations kept on the server, per knowledge base (``kb``) and per API key: list,
create, read, rename, delete; turns added as they are answered, cut back when a question
is edited; feedback on a turn. ``GET /api/kbs/{kb}/feedback`` exports the feedback as
evaluation items (the admin token: it holds every key's questions).

With ``server.conversations: browser`` or a read-only index folder these answer 503
``conversations_unavailable`` and the page keeps conversations in the browser."""

from __future__ import annotations

import hashlib
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import Admin, Lib
from app.api.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationOut,
    ConversationRename,
    ConversationsResponse,
    FeedbackIn,
    StoredTurnOut,
    TurnCreate,
)
from app.chat_records import Conversation, StoredTurn
from app.feedback_export import as_jsonl, eval_items
from app.library import DEFAULT

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
export_router = APIRouter(prefix="/api/kbs", tags=["conversations"])


def owner_of(request: Request) -> str:
    """Whose conversations these are: a hash of the API key sent (never the key), or
    everyone's ("") on a server without keys."""
    if not request.app.state.keyed:
        return ""
    _, _, token = request.headers.get("authorization", "").partition(" ")
    return hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()[:32]


def _out(conversation: Conversation) -> ConversationOut:
    return ConversationOut.model_validate(conversation, from_attributes=True)


def _turn_out(turn: StoredTurn) -> StoredTurnOut:
    return StoredTurnOut.model_validate(turn.as_dict())


@router.get("")
def list_conversations(request: Request, library: Lib, kb: str = DEFAULT) -> ConversationsResponse:
    """This key's conversations over ``kb``, the most recently continued first."""
    chats = library.chats(kb)
    return ConversationsResponse(
        kb=kb, conversations=[_out(c) for c in chats.conversations(owner_of(request))]
    )


@router.post("", status_code=201)
def create_conversation(
    body: ConversationCreate, request: Request, library: Lib, kb: str = DEFAULT
) -> ConversationOut:
    return _out(library.chats(kb).create(owner_of(request), body.title))


@router.get("/{conversation_id}")
def get_conversation(
    conversation_id: str, request: Request, library: Lib, kb: str = DEFAULT
) -> ConversationDetail:
    conversation, turns = library.chats(kb).get(owner_of(request), conversation_id)
    return ConversationDetail(
        kb=kb, conversation=_out(conversation), turns=[_turn_out(t) for t in turns]
    )


@router.patch("/{conversation_id}")
def rename_conversation(
    conversation_id: str,
    body: ConversationRename,
    request: Request,
    library: Lib,
    kb: str = DEFAULT,
) -> ConversationOut:
    return _out(library.chats(kb).rename(owner_of(request), conversation_id, body.title))


@router.delete("/{conversation_id}")
def delete_conversation(
    conversation_id: str, request: Request, library: Lib, kb: str = DEFAULT
) -> dict[str, str]:
    library.chats(kb).delete(owner_of(request), conversation_id)
    return {"deleted": conversation_id}


@router.post("/{conversation_id}/turns", status_code=201)
def add_turn(
    conversation_id: str, body: TurnCreate, request: Request, library: Lib, kb: str = DEFAULT
) -> StoredTurnOut:
    turn = library.chats(kb).add_turn(owner_of(request), conversation_id, body.question, body.reply)
    return _turn_out(turn)


@router.delete("/{conversation_id}/turns/{turn_id}")
def truncate_conversation(
    conversation_id: str, turn_id: str, request: Request, library: Lib, kb: str = DEFAULT
) -> dict[str, int]:
    """Delete a turn and every later one: the question is being edited and asked again."""
    gone = library.chats(kb).truncate(owner_of(request), conversation_id, turn_id)
    return {"deleted": gone}


@router.put("/{conversation_id}/turns/{turn_id}/feedback")
def rate_turn(
    conversation_id: str,
    turn_id: str,
    body: FeedbackIn,
    request: Request,
    library: Lib,
    kb: str = DEFAULT,
) -> StoredTurnOut:
    chats = library.chats(kb)
    turn = chats.rate(owner_of(request), conversation_id, turn_id, body.rating, body.comment)
    return _turn_out(turn)


@export_router.get(
    "/{name}/feedback",
    dependencies=[Admin],
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSONL"}},
)
def export_feedback(
    name: str, library: Lib, rating: Literal["up", "down"] | None = None
) -> Response:
    """Every key's rated answers over ``name`` as evaluation items, one JSON object a
    line (the format of ``notesqa eval``; ``app.feedback_export`` says how each rating
    becomes an item)."""
    items = eval_items(library.chats(name).rated(), rating=rating)
    return Response(
        as_jsonl(items),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="feedback-{name}.jsonl"'},
    )


__all__ = ["export_router", "owner_of", "router"]
