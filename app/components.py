"""Where settings become working parts: the embedder, the index store, the retriever.

The CLI and the HTTP app both call these, so they are built the same way everywhere.
"""

from __future__ import annotations

import os

from app.settings import Settings
from ingest.embed import Embedder, make_embedder
from ingest.split import ChunkingOptions
from ingest.store import IndexStore

# Nothing may reach a model hub at run time: weights come from packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def embedder_from(settings: Settings) -> Embedder:
    e = settings.embedding
    return make_embedder(
        e.backend,
        model=e.model,
        batch_size=e.batch_size,
        threads=e.threads,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
    )


def store_from(settings: Settings, index_name: str | None = None) -> IndexStore:
    return IndexStore(settings.index_dir / (index_name or settings.index_name))


def chunking_from(settings: Settings) -> ChunkingOptions:
    return ChunkingOptions(size=settings.chunking.size, overlap=settings.chunking.overlap)
