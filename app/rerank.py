"""Optional cross-encoder reranking of the fused candidates.

Any sentence-transformers ``CrossEncoder`` folder on disk works (bge-reranker-base/large,
bce-reranker-base_v1, ...). Off when ``retrieval.rerank.model`` is null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ingest.errors import ModelUnavailableError


class Reranker(Protocol):
    @property
    def name(self) -> str: ...

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        """Relevance of each passage to the query, 0..1 (higher is more relevant)."""
        ...


class CrossEncoderReranker:
    def __init__(self, model_path: str, *, max_length: int = 512) -> None:
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise ModelUnavailableError(
                f"reranker folder not found: {path} (set retrieval.rerank.model to a "
                "cross-encoder folder, or null to turn reranking off)"
            )
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise ModelUnavailableError("reranking needs `pip install notesqa[hf]`") from exc
        try:
            self._model = CrossEncoder(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load cross-encoder {path}: {exc}") from exc
        # Never feed more positions than the model has (small models have fewer than 512).
        positions = getattr(self._model.model.config, "max_position_embeddings", max_length)
        self._model.max_seq_length = min(max_length, int(positions))
        self.name = f"cross-encoder/{path.name}"

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        raw = self._model.predict(
            [(query, p) for p in passages], convert_to_numpy=True, show_progress_bar=False
        )
        values = [float(x) for x in raw.reshape(len(passages), -1)[:, -1]]
        # Models with one logit output raw scores; map them to 0..1 the same way always.
        if any(v < 0 or v > 1 for v in values):
            values = [1 / (1 + math.exp(-v)) for v in values]
        return values
