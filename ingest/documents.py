"""The data that flows through notesqa, shared by ingest and the service.

A ``Document`` is one source file turned into ``Page``s of text; cleaning gives the
document's text, which splitting cuts into ``Chunk``s. Chunk offsets (``start``/``end``)
point into the cleaned text of the whole document (pages joined by ``PAGE_SEPARATOR``),
which the index stores too, so a citation can always be shown in context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Page:
    """Text of one page as loaded (PDF pages are numbered from 1; other files have None)."""

    text: str
    number: int | None = None


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
        }
