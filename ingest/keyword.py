"""Keyword (BM25) index over jieba tokens, built with the dense index and saved beside it.

Both sides are folded first (``ingest.clean.fold``: NFKC, lowercase, Traditional ->
Simplified), so a Traditional-Chinese query matches Simplified text, full-width matches
half-width and case does not matter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean import fold

KEYWORD_DIR = "keyword"
_WORDLIKE = re.compile(r"\w", re.UNICODE)
# Function words that match everywhere and only add noise to BM25 scores.
_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 就 都 而 把 被 让 给 对 从 以 之 其 这 那 有 为 中 上 下 吗 呢 吧 啊 "
    "什么 哪些 怎么 如何 多少 哪 个 些 一 一个 我们 你 我 他 它 它们 "
    "a an the of to in on for and or is are was were be by with as at what which how "
    "does do did why who whom when where"
    .split()
)


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of the folded text, without punctuation and stopwords."""
    tokens = _jieba().lcut_for_search(fold(text))
    return [t for t in tokens if _WORDLIKE.search(t) and t.strip() and t not in _STOPWORDS]


class KeywordIndex:
    """BM25 over the index's chunk rows (row i of BM25 == row i of FAISS)."""

    def __init__(self, retriever: Any, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        import bm25s

        retriever = bm25s.BM25()
        # bm25s cannot index an empty corpus; keep a valid (empty) index for empty builds.
        corpus = [tokenize(t) or ["\u2205"] for t in texts] or [["\u2205"]]
        retriever.index(corpus, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        target = folder / KEYWORD_DIR
        self._retriever.save(str(target), show_progress=False)
        (target / "size").write_text(str(self.size), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        target = folder / KEYWORD_DIR
        retriever = bm25s.BM25.load(str(target), show_progress=False)
        return cls(retriever, int((target / "size").read_text(encoding="utf-8")))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(row, BM25 score) for the best ``k`` rows with a positive score."""
        tokens = tokenize(query)
        if not tokens or self.size == 0:
            return []
        k = min(k, self.size)
        docs, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [
            (int(d), float(s))
            for d, s in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=True)
            if s > 0
        ]
