"""The one place settings become working parts: embedder, store, retriever, search,
generator, answerer.

The CLI, the HTTP app, ``notesqa eval`` and the bench scripts all build their parts
here, so they behave the same: in particular ``Search`` decides once whether a question
is also searched in translation (``retrieval.translate_query``), for ``notesqa search``
as for ``/api/search`` and answering.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.lang import detect_lang
from app.limits import check_question
from app.settings import Settings
from app.translate import QueryTranslator
from ingest.embed import Embedder, EmbeddingServer, make_embedder
from ingest.keyword import KeywordIndex
from ingest.ocr import OcrOptions
from ingest.split import ChunkingOptions
from ingest.store import IndexStore
from ingest.vector_index import VectorIndexOptions
from ingest.vector_store import MilvusOptions, StoreOptions

if TYPE_CHECKING:
    from app.answer import Answerer
    from app.llm.base import Generator
    from app.retrieve import Retriever, SearchResult

# Nothing may reach a model hub at run time: weights come from packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def embedding_spec(settings: Settings) -> dict[str, str]:
    """What a manifest records to make this embedder again: no secrets, no threads."""
    e = settings.embedding
    optional = {
        "query_prefix": e.query_prefix,
        "passage_prefix": e.passage_prefix,
        "base_url": e.base_url,
    }
    return {"backend": e.backend, "model": e.model} | {
        k: v for k, v in optional.items() if v is not None
    }


def settings_for_spec(settings: Settings, spec: dict[str, str]) -> Settings:
    """``settings`` with the embedding a manifest names (its key, threads, batch from
    ``settings``)."""
    known = {"backend", "model", "query_prefix", "passage_prefix", "base_url"}
    fields: dict[str, str | None] = {"query_prefix": None, "passage_prefix": None}
    fields |= {k: v for k, v in spec.items() if k in known}
    embedding = settings.embedding.model_copy(update=fields)
    return settings.model_copy(update={"embedding": embedding})


def embedder_from(settings: Settings, *, for_queries: bool = False) -> Embedder:
    """The embedder; ``for_queries``: with ``embedding.query_threads`` (serving, search)."""
    e = settings.embedding
    server = EmbeddingServer(
        base_url=e.base_url or "",
        api_key=e.api_key.get_secret_value() if e.api_key else None,
        concurrency=e.concurrency,
        timeout=e.timeout,
    )
    return make_embedder(
        e.backend,
        model=e.model,
        batch_size=e.batch_size,
        threads=e.query_threads if for_queries else e.threads,
        query_prefix=e.query_prefix,
        passage_prefix=e.passage_prefix,
        server=server,
    )


def store_from(settings: Settings, index_name: str | None = None) -> IndexStore:
    v = settings.vectors
    vectors = VectorIndexOptions(
        kind=v.kind,
        hnsw_above=v.hnsw_above,
        hnsw_m=v.hnsw_m,
        hnsw_ef_construction=v.hnsw_ef_construction,
        hnsw_ef_search=v.hnsw_ef_search,
    )
    s = settings.store
    # Milvus options are passed with either backend: versions written to Milvus keep
    # serving from it after the backend is switched back to FAISS.
    milvus = MilvusOptions(
        uri=s.milvus_uri or str((settings.index_dir / "milvus.db").resolve()),
        token=s.milvus_token.get_secret_value() if s.milvus_token else None,
        collection_prefix=s.collection_prefix,
    )
    options = StoreOptions(backend=s.backend, vectors=vectors, milvus=milvus)
    return IndexStore(settings.index_dir / (index_name or settings.index_name), options=options)


def chunking_from(settings: Settings) -> ChunkingOptions:
    return ChunkingOptions(size=settings.chunking.size, overlap=settings.chunking.overlap)


def ocr_from(settings: Settings) -> OcrOptions:
    return OcrOptions(enabled=settings.ocr.enabled, min_score=settings.ocr.min_score)


def retriever_from(settings: Settings, *, embedder: Embedder | None = None) -> Retriever:
    """The retriever over the current index version, checked against the embedder
    (without one: the embedder the index's manifest names, as the server does)."""
    from app.rerank import CrossEncoderReranker
    from app.retrieve import Retriever

    store = store_from(settings)
    if embedder is None:  # the model the index was built with (its manifest says how)
        spec = store.read_manifest().embedding_spec
        queried = settings_for_spec(settings, spec) if spec else settings
        embedder = embedder_from(queried, for_queries=True)
    index = store.load(embedding_model=embedder.name, dim=embedder.dim)
    cfg = settings.retrieval
    keyword = KeywordIndex.load(index.path) if cfg.bm25 else None
    reranker = CrossEncoderReranker(cfg.rerank.model) if cfg.rerank.model else None
    return Retriever(
        settings=cfg, index=index, embedder=embedder, keyword=keyword, reranker=reranker
    )


def generator_from(settings: Settings) -> Generator:
    """The configured generator (in a supervised worker process when so configured)."""
    from app.llm import make_generator

    return make_generator(settings.llm)


def search_from(
    settings: Settings,
    retriever: Retriever,
    generator: Callable[[], Generator] | None,
) -> Search:
    """Search as every entry point does it. ``generator`` gives the model for query
    translation, called only when a question needs translating (None: never translate)."""
    translate = generator is not None and settings.retrieval.translate_query
    return Search(retriever, QueryTranslator(generator) if generator and translate else None)


class Search:
    """A question, and when it is in another language than the passages its translation,
    searched together (the translation costs one short model call, cached)."""

    def __init__(self, retriever: Retriever, translator: QueryTranslator | None) -> None:
        self.retriever = retriever
        self.translator = translator

    def __call__(
        self,
        question: str,
        *,
        also: Sequence[str] = (),
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
    ) -> SearchResult:
        """``question`` (and ``also``: other forms of it, a follow-up's) searched together."""
        check_question(question)  # `notesqa search ""` listed arbitrary passages
        also = list(also)
        spent = translated = None
        if self.translator is not None and detect_lang(question) != self.retriever.lang:
            t0 = time.perf_counter()
            translated = self.translator.translate(question, self.retriever.lang)
            spent = time.perf_counter() - t0
            if translated:
                also.insert(0, translated)
        result = self.retriever.search(question, also=also, top_k=top_k, sources=sources)
        if spent is not None:
            result.timings["translate"] = spent
            result.translation = translated if translated != question else None
        return result


def answerer_from(settings: Settings, search: Search, generator: Generator) -> Answerer:
    from app.answer import Answerer

    return Answerer(settings=settings, search=search, generator=generator)
