"""A loaded document becomes its cleaned text and the spans the splitter cuts within.

Pages are cleaned (``ingest.clean``) after their running headers and footers are dropped
(``ingest.furniture``); text read by OCR and tables are only normalised: the noise rules
were written for web prose and would take a short recognised line or cell for debris.
Each page's text is followed by its tables, rendered as Markdown (``ingest.tables``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ingest.clean import clean_text, normalise_text
from ingest.documents import PAGE_SEPARATOR, Document, Origin, Span
from ingest.furniture import drop_page_furniture
from ingest.tables import render_table, table_heading

# Cleaning was tuned on web clippings: on other people's files it must err towards
# keeping text. When it would remove more than this share of a document (or all of it),
# the document is indexed from its normalised, uncleaned text and the build says so.
# The bundled notes lose 0-46% (003, a page of long recommendation lists).
MAX_CLEANED_SHARE = 0.6


def clean_document(doc: Document, *, notes: list[str] | None = None) -> tuple[str, list[Span]]:
    """The cleaned text of the whole document and where each page and table sits in it
    (the uncleaned text, with a line in ``notes``, when cleaning would gut it)."""
    doc = replace(doc, pages=tuple(drop_page_furniture(doc.pages)))
    text, spans = _joined(doc, clean_text)
    prose = [span for span in spans if span.origin == "text"]
    before = sum(len("".join(page.text.split())) for page in doc.pages if not page.ocr)
    after = sum(len("".join(text[s.start : s.end].split())) for s in prose)
    removed = 1 - after / before if before else 0.0
    if before and removed > MAX_CLEANED_SHARE:
        if notes is not None:
            notes.append(
                f"{doc.source}: indexed uncleaned (cleaning would have removed "
                f"{removed:.0%} of its text)"
            )
        return _joined(doc, normalise_text)
    return text, spans


def _joined(doc: Document, prepare: Callable[[str], str]) -> tuple[str, list[Span]]:
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0

    def add(part: str, page: int | None, origin: Origin, title: str = "") -> None:
        nonlocal pos
        if not part.strip():
            return
        if parts:
            pos += len(PAGE_SEPARATOR)
        spans.append(Span(pos, pos + len(part), page, origin, title))
        parts.append(part)
        pos += len(part)

    for page in doc.pages:
        if page.ocr:
            add(normalise_text(page.text), page.number, "ocr")
        else:
            add(prepare(page.text), page.number, "text")
        for table in page.tables:
            add(render_table(table), page.number, "table", table_heading(table))
    return PAGE_SEPARATOR.join(parts), spans
