"""Where settings become working parts: embedder, index store, retriever, generator.

The CLI and the HTTP app both call these, so they are built the same way everywhere.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from app.settings import Settings
from ingest.embed import Embedder, make_embedder
from ingest.keyword import KeywordIndex
from ingest.split import ChunkingOptions
from ingest.store import IndexStore

if TYPE_CHECKING:
    from app.llm.base import Generator
    from app.retrieve import Retriever

# Nothing may reach a model hub at run time: weights come from packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def embedder_from(settings: Settings, *, for_queries: bool = False) -> Embedder:
    """The embedder; ``for_queries``: with ``embedding.query_threads`` (serving, search)."""
    e = settings.embedding
    return make_embedder(
        e.backend,
        model=e.model,
        batch_size=e.batch_size,
        threads=e.query_threads if for_queries else e.threads,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
    )


def store_from(settings: Settings, index_name: str | None = None) -> IndexStore:
    return IndexStore(settings.index_dir / (index_name or settings.index_name))


def chunking_from(settings: Settings) -> ChunkingOptions:
    return ChunkingOptions(size=settings.chunking.size, overlap=settings.chunking.overlap)


def retriever_from(
    settings: Settings, *, generator: Generator | None = None, embedder: Embedder | None = None
) -> Retriever:
    """The retriever over the current index version, checked against the embedder.

    ``generator`` enables query translation (when ``retrieval.translate_query`` is on).
    """
    from app.rerank import CrossEncoderReranker
    from app.retrieve import Retriever
    from app.translate import QueryTranslator

    embedder = embedder or embedder_from(settings, for_queries=True)
    store = store_from(settings)
    index = store.load(embedding_model=embedder.name, dim=embedder.dim)
    cfg = settings.retrieval
    keyword = KeywordIndex.load(index.path) if cfg.bm25 else None
    reranker = CrossEncoderReranker(cfg.rerank.model) if cfg.rerank.model else None
    translator = QueryTranslator(generator) if generator and cfg.translate_query else None
    return Retriever(
        settings=cfg,
        index=index,
        embedder=embedder,
        keyword=keyword,
        reranker=reranker,
        translator=translator,
    )
