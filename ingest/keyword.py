"""Keyword (BM25) index over jieba tokens, built with the dense index and saved beside it.

Both sides are folded first (``ingest.clean.fold``: NFKC, lowercase, Traditional ->
Simplified), so a Traditional-Chinese query matches Simplified text, full-width matches
half-width and case does not matter.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean import fold
from ingest.errors import IndexMismatchError

KEYWORD_DIR = "keyword"
_WORDLIKE = re.compile(r"\w", re.UNICODE)
# Function words that match everywhere and only add noise to BM25 scores (a named string,
# split once: as a literal list it ran to eighty lines).
_FUNCTION_WORDS = (
    "的 了 是 在 和 与 及 或 也 就 都 而 把 被 让 给 对 从 以 之 其 "
    "这 那 有 为 中 上 下 吗 呢 吧 啊 "
    "什么 哪些 怎么 如何 多少 哪 个 些 一 一个 我们 你 我 他 它 它们 "
    "a an the of to in on for and or is are was were be by with as at "
    "what which how does do did why who whom when where"
)
_STOPWORDS = frozenset(_FUNCTION_WORDS.split())


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


# Glued names in clipped pages ("TigerBotStar", "ChatGLM2-6BStar"): their camel-case
# parts, so that "TigerBot" still matches.
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_GLUED = re.compile(r"[A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")


def _camel_parts(text: str) -> list[str]:
    """Proper runs of two or more camel-case parts of glued words, lowercased.

    The whole word is already a jieba token; repeating it would double its weight.
    """
    out: list[str] = []
    for word in _GLUED.findall(text):
        parts = _CAMEL.findall(word)
        for i in range(len(parts)):
            for j in range(i + 2, len(parts) + 1):
                if j - i < len(parts):
                    out.append("".join(parts[i:j]).lower())
    return out


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of the folded text, without punctuation and stopwords."""
    tokens = _jieba().lcut_for_search(fold(text)) + _camel_parts(text)
    return [t for t in tokens if _WORDLIKE.search(t) and t.strip() and t not in _STOPWORDS]


class KeywordIndex:
    """BM25 over the index's chunk rows (row i of BM25 == row i of FAISS)."""

    def __init__(self, retriever: Any, size: int, doc_freq: dict[str, int]) -> None:
        self._retriever = retriever
        self.size = size
        self.doc_freq = doc_freq  # token -> number of chunks holding it

    def idf(self, token: str) -> float:
        """Inverse document frequency; a token no chunk holds gets the highest value."""
        return math.log((self.size + 1) / (self.doc_freq.get(token, 0) + 0.5))

    @classmethod
    def build(cls, texts: Sequence[str]) -> KeywordIndex:
        import bm25s

        retriever = bm25s.BM25()
        # bm25s cannot index an empty corpus; keep a valid (empty) index for empty builds.
        corpus = [tokenize(t) or ["\u2205"] for t in texts] or [["\u2205"]]
        retriever.index(corpus, show_progress=False)
        doc_freq: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                doc_freq[token] = doc_freq.get(token, 0) + 1
        return cls(retriever, len(texts), doc_freq)

    def save(self, folder: Path) -> None:
        target = folder / KEYWORD_DIR
        self._retriever.save(str(target), show_progress=False)
        meta = {"size": self.size, "doc_freq": self.doc_freq}
        (target / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        target = folder / KEYWORD_DIR
        try:
            retriever = bm25s.BM25.load(str(target), show_progress=False)
            meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexMismatchError(
                f"the keyword index in {folder} is missing or unreadable: "
                "run `notesqa build --full` to rebuild it"
            ) from exc
        return cls(retriever, int(meta["size"]), meta["doc_freq"])

    def search(
        self, query: str, k: int, *, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(row, BM25 score) for the best ``k`` rows with a positive score.

        ``allowed`` restricts the search to those rows (a source filter).
        """
        tokens = tokenize(query)
        if not tokens or self.size == 0:
            return []
        k = min(k, self.size)
        mask = None
        if allowed is not None:
            mask = np.zeros(self.size, dtype=np.float32)
            mask[list(allowed)] = 1.0
            k = min(k, len(allowed))
            if k == 0:
                return []
        docs, scores = self._retriever.retrieve(
            [tokens], k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [
            (int(d), float(s))
            for d, s in zip(np.asarray(docs)[0], np.asarray(scores)[0], strict=True)
            if s > 0
        ]
