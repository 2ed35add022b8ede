"""Dependencies the routes share: the knowledge base and the generation gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.gate import GenerationGate
from app.service import KnowledgeBase, Loaded


def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def get_loaded(request: Request) -> Loaded:
    """The current index version (raises a 503-mapped error while there is none)."""
    return get_kb(request).load()


def get_gate(request: Request) -> GenerationGate:
    gate: GenerationGate = request.app.state.gate
    return gate


KB = Annotated[KnowledgeBase, Depends(get_kb)]
Current = Annotated[Loaded, Depends(get_loaded)]
Gate = Annotated[GenerationGate, Depends(get_gate)]
