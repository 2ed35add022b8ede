"""Context assembly: hits become the numbered passages a prompt shows and cites.

Adjacent or overlapping chunks of the same document among the hits are merged into one
passage cut from the document's cleaned text, so a list split over two chunks reaches
the model whole, and the overlap between chunks is not shown twice. Two hits of one
document at most ``gap`` characters apart (``retrieval.merge_gap``) are merged too, with
the text between them: a list whose items are short chunks was found three items out
of four. The default (2) only joins chunks that touch; one chunk's width (350) changed
no figure on the notes dev set, so it is left to the user.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ingest.documents import Hit, Origin

if TYPE_CHECKING:
    from app.settings import RetrievalSettings


@dataclass(slots=True)
class Passage:
    source: str
    text: str
    start: int
    end: int
    page: int | None
    heading: str
    chunk_ids: list[str]
    rank: int  # best rank among its chunks
    origin: Origin = "text"
    # Its document's title (ingest.split.document_title): a question may name the
    # document ("LLMsStudy 笔记里…") by a title no chunk's text repeats.
    title: str = ""


class Documents(Protocol):
    """What assembling needs of an index: a document's cleaned text and its title."""

    def document_text(self, source: str) -> str | None: ...

    def document_title(self, source: str) -> str: ...


def assemble(
    hits: Sequence[Hit],
    *,
    document_text: Callable[[str], str | None],
    merge: bool = True,
    gap: int = 2,
    document_title: Callable[[str], str] | None = None,
) -> list[Passage]:
    """Passages in the order of their best hit; chunks of one page within ``gap`` are merged."""
    passages = [
        Passage(
            h.chunk.source,
            h.chunk.text,
            h.chunk.start,
            h.chunk.end,
            h.chunk.page,
            h.chunk.heading,
            [h.chunk.chunk_id],
            h.rank or i,
            h.chunk.origin,
            document_title(h.chunk.source) if document_title is not None else "",
        )
        for i, h in enumerate(hits, 1)
    ]
    if not merge:
        return passages
    merged: list[Passage] = []
    by_start = sorted(passages, key=lambda p: (p.source, p.page or 0, p.start))
    for p in by_start:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.source == p.source
            and last.page == p.page
            and last.origin == p.origin  # a table's rows are not merged into prose
            and p.start <= last.end + gap
        ):
            last.end = max(last.end, p.end)
            last.text += "\n" + p.text  # only shown if the document's text is missing
            last.chunk_ids.extend(p.chunk_ids)
            last.rank = min(last.rank, p.rank)
        else:
            merged.append(
                Passage(
                    *(p.source, p.text, p.start, p.end, p.page, p.heading),
                    *(list(p.chunk_ids), p.rank, p.origin, p.title),
                )
            )
    for p in merged:
        if len(p.chunk_ids) > 1:
            text = document_text(p.source)
            if text is not None:
                p.text = text[p.start : p.end]
    return sorted(merged, key=lambda p: p.rank)


def passages_for(
    hits: Sequence[Hit], documents: Documents, retrieval: RetrievalSettings
) -> list[Passage]:
    """``assemble`` as the settings say: the one way answering, explanations and the bench
    scripts turn hits into the passages a prompt shows."""
    return assemble(
        hits,
        document_text=documents.document_text,
        merge=retrieval.merge_adjacent,
        gap=retrieval.merge_gap,
        document_title=documents.document_title,
    )
