"""The data that flows through notesqa, shared by ingest and the service.

A ``Document`` is one source file turned into ``Page``s of text; cleaning gives the
document's text, which splitting cuts into ``Chunk``s. Chunk offsets (``start``/``end``)
point into the cleaned text of the whole document (pages joined by ``PAGE_SEPARATOR``),
which the index stores too, so a citation can always be shown in context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

PAGE_SEPARATOR = "\n\n"

# Where a chunk's text came from: the file's own text, a table of it (rendered as a
# Markdown table, cut only between rows), or optical character recognition of a picture.
Origin = Literal["text", "table", "ocr"]


def document_id(source: str) -> str:
    """A stable id for a document name, safe in a URL path."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Table:
    """A table as rows of cell text; the first row is the header."""

    rows: tuple[tuple[str, ...], ...]
    title: str = ""  # what the breadcrumb calls it: "Table 2", a sheet's name

    @property
    def header(self) -> tuple[str, ...]:
        return self.rows[0] if self.rows else ()


@dataclass(frozen=True, slots=True)
class Page:
    """Text of one page as loaded (PDF pages and slides are numbered from 1; other files
    have None), the tables on it, and for a page with no text layer (a scan, a photo)
    how to get its picture: the OCR stage reads it and sets ``ocr``."""

    text: str
    number: int | None = None
    tables: tuple[Table, ...] = ()
    image: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)
    ocr: bool = False

    @property
    def needs_ocr(self) -> bool:
        return self.image is not None and not self.ocr


@dataclass(frozen=True, slots=True)
class Span:
    """Where one page's text, or one table, sits in a document's cleaned text."""

    start: int
    end: int
    page: int | None = None
    origin: Origin = "text"
    title: str = ""  # a table's breadcrumb, its name and columns: "Table 1: 模型 | 参数量"


@dataclass(frozen=True, slots=True)
class Document:
    """One source file after loading."""

    source: str  # the name users see and filter on: the path relative to the folder given
    path: str  # where it was read from
    sha256: str  # of the raw bytes: unchanged hash means no re-embedding
    pages: tuple[Page, ...]
    size: int = 0


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: the unit that is embedded, retrieved and cited."""

    chunk_id: str
    source: str
    text: str
    start: int
    end: int
    page: int | None = None
    heading: str = ""  # breadcrumb, "LLM的初步探究 > 大模型的发展脉络"
    origin: Origin = "text"


@dataclass(slots=True)
class Hit:
    """A chunk returned by a search, with its rank and score (higher is better)."""

    chunk: Chunk
    score: float
    rank: int = 0
    relevance: float = 0.0  # calibrated 0..1; below the configured threshold means "nothing found"
    scores: dict[str, float] = field(default_factory=dict)  # per-stage evidence (dense, bm25, ...)

    def as_dict(self) -> dict[str, object]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "relevance": round(self.relevance, 4),
            "text": c.text,
            "source": c.source,
            "page": c.page,
            "heading": c.heading,
            "chunk_id": c.chunk_id,
            "start": c.start,
            "end": c.end,
            "origin": c.origin,
        }
