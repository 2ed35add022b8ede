"""A document as the index holds it: its cleaned text, and where each chunk and page of
it sits (character offsets into that text), for a preview that shows a citation in place.

The text is the one chunks were cut from, so a chunk's ``start``/``end`` (and a cited
source's) point into it as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.documents import document_id
from ingest.errors import NotFoundError
from ingest.reader import LoadedIndex


@dataclass(slots=True)
class DocumentView:
    id: str
    source: str
    text: str
    chunks: list[dict[str, Any]] = field(default_factory=list)
    # (page, start, end) of each page's part of the text, for paged documents
    pages: list[dict[str, int]] = field(default_factory=list)


def document_view(index: LoadedIndex, doc_id: str) -> DocumentView:
    source = next((s for s in index.manifest.documents if document_id(s) == doc_id), None)
    if source is None:
        raise NotFoundError(f"no indexed document with id {doc_id!r} in this knowledge base")
    text = index.document_text(source) or ""
    chunks = [c for _, c in index.rows_of(source)]
    pages: dict[int, list[int]] = {}
    for c in chunks:
        if c.page is not None:
            span = pages.setdefault(c.page, [c.start, c.end])
            span[0], span[1] = min(span[0], c.start), max(span[1], c.end)
    return DocumentView(
        doc_id,
        source,
        text,
        [
            {
                "chunk_id": c.chunk_id,
                "start": c.start,
                "end": c.end,
                "page": c.page,
                "heading": c.heading,
                "origin": c.origin,
            }
            for c in chunks
        ],
        [{"page": n, "start": s, "end": e} for n, (s, e) in sorted(pages.items())],
    )
