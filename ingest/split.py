"""Split cleaned text into chunks that respect Chinese and English structure.

Order of cuts: headings start sections (and feed the breadcrumb), then paragraphs, then
sentence ends (。！？；!? and ". ", and line ends). Sentences are packed into chunks of at
most ``size`` characters; consecutive chunks of a section share up to ``overlap``
characters of whole sentences. A sentence is cut only when it alone exceeds ``size``.

A table pasted as plain text (a web page's table clipped to lines of space-separated
cells: "模型 最新时间 大小 机构单位" over "TigerBot 2023-08 7/13/70B 虎博科技") is cut between
rows like any lines, but a chunk of its rows without the header line gets that line in
its breadcrumb, so "7/13/70B" still says it is a size, to the embedder, the keyword index
and the model (``ingest.text_tables``).

Every chunk is an exact slice of the document text: ``text == doc_text[start:end]``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.clean import one_line
from ingest.documents import Chunk, Span
from ingest.tables import row_pieces
from ingest.text_tables import BULLET, END_PUNCT, header_at, text_tables

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A plain-text heading is a short line standing alone: no sentence punctuation at its end,
# few spaces (table rows have many), not a list bullet.
_PLAIN_HEADING_MAX = 30
_MIN_SECTION = 40  # characters; below this a section is folded into the next one
# Sentence ends: CJK terminal punctuation (with closing quotes), ". " style ends, newlines.
_SENTENCE_END = re.compile(r"[。！？；!?]+[”’」』\"')）]*|\.(?=\s)|\n+")


# The version of the rules that turn a document's text into chunks (cleaning, headings,
# breadcrumbs, sentence splitting). Bump it with any change to what chunks a document
# gives: the manifest records it, and a build that finds another one reads and splits
# every document again instead of keeping the old chunks of the unchanged ones.
SPLIT_RULES = 1


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    size: int = 300
    overlap: int = 60

    def as_dict(self) -> dict[str, int]:
        return {"size": self.size, "overlap": self.overlap, "rules": SPLIT_RULES}


@dataclass(slots=True)
class _Section:
    start: int
    end: int
    heading: str


def _heading_of(line: str, prev_blank: bool, next_line: str) -> tuple[int, str] | None:
    """(level, title) when the line is a heading; level 0 means 'plain text, level unknown'."""
    match = _MD_HEADING.match(line)
    if match:
        return len(match.group(1)), match.group(2).strip()
    text = line.strip()
    if (
        prev_blank
        and 1 < len(text) <= _PLAIN_HEADING_MAX
        and text[-1] not in END_PUNCT
        and text.count(" ") <= 2
        and not BULLET.match(text)
        and not text.startswith(("http://", "https://", "[", "|"))
        and _is_content(next_line)  # a heading introduces text; a run of short lines is a list
    ):
        return 0, text
    return None


def _is_content(line: str) -> bool:
    text = line.strip()
    return bool(text) and (len(text) > _PLAIN_HEADING_MAX or text[-1] in END_PUNCT)


def _merge_small(sections: list[_Section], text: str, min_chars: int) -> list[_Section]:
    """Fold sections with almost no text (a lone heading) into the section that follows."""
    out: list[_Section] = []
    carry: int | None = None
    for i, sec in enumerate(sections):
        start = sec.start if carry is None else carry
        if len(text[sec.start : sec.end].strip()) < min_chars and i + 1 < len(sections):
            carry = start
            continue
        out.append(_Section(start, sec.end, sec.heading))
        carry = None
    return out


def _sections(text: str) -> list[_Section]:
    """Cut the text at headings; each section carries its breadcrumb."""
    lines = text.split("\n")
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    # Plain-text headings carry no level: the first is the title, the rest sit under it.
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = []
    cut = 0
    breadcrumb = ""
    seen_plain = False
    for i, line in enumerate(lines):
        prev_blank = i == 0 or not lines[i - 1].strip()
        nxt = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
        found = _heading_of(line, prev_blank, nxt)
        if found is None:
            continue
        level, title = found
        if level == 0:
            level = 2 if seen_plain else 1
            seen_plain = True
        if offsets[i] > cut:
            sections.append(_Section(cut, offsets[i], breadcrumb))
        cut = offsets[i]
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        breadcrumb = " > ".join(t for _, t in stack)
    if len(text) > cut:
        sections.append(_Section(cut, len(text), breadcrumb))
    return _merge_small(sections, text, _MIN_SECTION)


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Spans of sentences in text[start:end], whitespace trimmed, none empty."""
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        yield from _trimmed(text, pos, match.end())
        pos = match.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def _pieces(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Cut sentences longer than ``size`` into ``size``-character pieces."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e - s > size:
            out.append((s, s + size))
            s += size
        out.append((s, e))
    return out


def _pack(spans: list[tuple[int, int]], options: ChunkingOptions) -> Iterator[tuple[int, int]]:
    """Greedy packing of sentence spans into chunks, with whole-sentence overlap."""
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= options.size:
            j += 1
        yield spans[i][0], spans[j][1]
        if j + 1 >= len(spans):
            return
        # Start the next chunk with the last sentences of this one that fit the overlap,
        # always moving forward by at least one sentence.
        k = j + 1
        while k - 1 > i and spans[j][1] - spans[k - 1][0] <= options.overlap:
            k -= 1
        i = k


def chunk_id(source: str, index: int, *, doc_hash: str) -> str:
    key = hashlib.sha1(f"{source}\0{doc_hash}".encode()).hexdigest()[:12]
    return f"{key}-{index:04d}"


def split_text(
    text: str,
    *,
    source: str,
    doc_hash: str,
    options: ChunkingOptions,
    page_spans: list[Span] | None = None,
) -> list[Chunk]:
    """Chunks of a document's cleaned text.

    ``page_spans`` says where each page's text and each table sits inside ``text``;
    chunks never cross a span, so each has one page number and one origin. Tables are cut
    between rows only (``ingest.tables``).
    """
    chunks: list[Chunk] = []

    def add(start: int, end: int, span: Span, heading: str) -> None:
        chunks.append(
            Chunk(
                chunk_id=chunk_id(source, len(chunks), doc_hash=doc_hash),
                source=source,
                text=text[start:end],
                start=start,
                end=end,
                page=span.page,
                heading=heading,
                origin=span.origin,
            )
        )

    for span in page_spans or [Span(0, len(text))]:
        if span.origin == "table":
            for start, end in row_pieces(text, span.start, span.end, options.size):
                add(start, end, span, span.title)
            continue
        page_text = text[span.start : span.end]
        for section in _sections(page_text):
            sentences = list(_sentences(page_text, section.start, section.end))
            tables = text_tables(page_text, section.start, section.end)
            for s, e in _pack(_pieces(sentences, options.size), options):
                heading = header_at(section.heading, s, tables)
                add(span.start + s, span.start + e, span, heading)
    return chunks


TITLE_CHARS = 80


def document_title(text: str, pieces: Sequence[Chunk]) -> str:
    """What to call a document in lists: its first line (the cleaned text starts at the
    title of most documents: furniture and site names are gone), Markdown heading marks
    dropped; when that line is a long paragraph, its first heading. The file name stays
    its identity."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    if line.lstrip().startswith("#"):  # a Markdown heading: "# Title #" -> "Title"
        line = re.sub(r"\s#+\s*$", "", line.strip().lstrip("#"))
    line = " ".join(line.split())
    if len(line) > TITLE_CHARS:
        heading = next((p.heading for p in pieces if p.heading and p.origin != "table"), "")
        line = heading.split(" > ")[0] if heading else line
    return one_line(line, TITLE_CHARS)
