"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` server: vLLM, Text Embeddings
Inference, Infinity, Ollama — where users have GPUs.

Batches go out a few at a time (``concurrency``), each retried with exponential backoff
on timeouts, connection errors, 429 and 5xx; other statuses fail at once with the
server's message. Every vector must have the dimension of the first: a server that
changes model under us fails the build instead of mixing spaces in one index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ingest.embed import Vectors, default_prefixes, normalize
from ingest.errors import ModelUnavailableError

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIEmbedder:
    """``model`` at ``base_url`` (".../v1"); the index records ``openai/<model>``."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        batch_size: int = 64,
        concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 4,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        transport: Any = None,  # an httpx transport, for tests of the error paths
        backoff: float = 0.5,
    ) -> None:
        import httpx

        if not base_url:
            raise ModelUnavailableError(
                "embedding.backend openai needs embedding.base_url (e.g. http://gpu:8000/v1)"
            )
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self.model = model
        self.name = f"openai/{model}"
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.backoff = backoff
        q, p = default_prefixes(model)
        self._query_prefix = q if query_prefix is None else query_prefix
        self._passage_prefix = p if passage_prefix is None else passage_prefix
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:  # asked once, with a real request: the server says
            self._dim = int(self._post(["dimension probe"]).shape[1])
        return self._dim

    def embed_documents(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batches = [
            [self._passage_prefix + t for t in texts[i : i + self.batch_size]]
            for i in range(0, len(texts), self.batch_size)
        ]
        parts: list[Vectors] = []
        with ThreadPoolExecutor(self.concurrency) as pool:
            # map keeps the batches' order whatever order the server answers in
            for part in pool.map(self._post, batches):
                parts.append(part)
                if progress is not None:
                    progress(len(part))
        return normalize(np.vstack(parts))

    def embed_query(self, text: str) -> Vectors:
        return normalize(self._post([self._query_prefix + text]))[0]

    def close(self) -> None:
        """Close the connections to the server (a process that exits need not)."""
        self._client.close()

    def _post(self, inputs: list[str]) -> Vectors:
        import httpx

        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                reply = self._client.post(
                    "/embeddings", json={"model": self.model, "input": inputs}
                )
            except httpx.TransportError as exc:  # timeouts, refused and reset connections
                if last:
                    raise ModelUnavailableError(
                        f"embedding server {self._client.base_url} unreachable after "
                        f"{self.retries + 1} tries: {type(exc).__name__}: {exc}"
                    ) from exc
            else:
                if reply.status_code == 200:
                    return self._vectors(reply, len(inputs))
                if reply.status_code not in RETRYABLE or last:
                    raise ModelUnavailableError(
                        f"embedding server {self._client.base_url} answered "
                        f"{reply.status_code}: {reply.text[:200]}"
                    )
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _vectors(self, reply: Any, count: int) -> Vectors:
        try:
            data = sorted(reply.json()["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailableError(
                f"embedding server {self._client.base_url} sent no embeddings ({exc})"
            ) from exc
        if vectors.ndim != 2 or len(vectors) != count:
            raise ModelUnavailableError(
                f"embedding server returned {len(vectors)} embeddings for {count} texts"
            )
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise ModelUnavailableError(
                f"embedding server returned dimension {vectors.shape[1]}, expected "
                f"{self._dim}: did its model change? Rebuild with --full after changing it"
            )
        self._dim = int(vectors.shape[1])
        return vectors
