"""Office and e-book formats: .docx, .pptx, .xlsx, .csv and .epub.

Tables become ``Table``s (kept whole, cut only between rows); headings become Markdown
headings so the splitter builds breadcrumbs. Slides are numbered like pages.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from ingest.documents import Page, Table
from ingest.errors import DocumentError
from ingest.tables import make_table, table_or_text

# What the libraries raise for a file that is not what its suffix says, damaged, or
# encrypted (an encrypted Office file is an OLE container, not a zip).
_BAD_FILE = (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, AttributeError)


def _opened(kind: str, open_: Any, data: bytes) -> Any:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError(f"not a {kind} (not a zip archive: damaged, encrypted or renamed)")
    try:
        return open_(io.BytesIO(data))
    except _BAD_FILE as exc:
        raise DocumentError(f"corrupt or unreadable {kind} ({exc})") from exc


def load_docx(data: bytes) -> list[Page]:
    import docx
    from docx.table import Table as DocxTable

    document = _opened(".docx", docx.Document, data)
    lines: list[str] = []
    tables: list[Table] = []
    headings: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, DocxTable):
            title = " > ".join([*headings, f"Table {len(tables) + 1}"])
            rows = [[_cell_text(cell) for cell in row.cells] for row in block.rows]
            grid = table_or_text(rows, title)
            _place(grid, lines, tables)
            continue
        style = (block.style.name if block.style is not None else "") or ""
        text = block.text
        match = re.match(r"Heading (\d)", style)
        if match and text.strip():
            level = int(match.group(1))
            headings[level - 1 :] = [text.strip()]
            lines.append(f"\n{'#' * level} {text.strip()}\n")
        else:
            lines.append(text)
    return [Page("\n".join(lines), tables=tuple(tables))]


def _cell_text(cell: Any) -> str:
    """A cell's text with that of tables nested in it (``cell.text`` leaves them out),
    a nested row to a line."""
    from docx.table import Table as DocxTable

    parts: list[str] = []
    for block in cell.iter_inner_content():
        if isinstance(block, DocxTable):
            for row in block.rows:
                parts.append(" ".join(_cell_text(c) for c in row.cells).strip())
        else:
            parts.append(block.text)
    return "\n".join(p for p in parts if p.strip())


def _place(grid: Table | str, lines: list[str], tables: list[Table]) -> None:
    if isinstance(grid, str):
        lines.append(grid)
    else:
        tables.append(grid)


def load_pptx(data: bytes) -> list[Page]:
    """One page per slide: its title as a heading, its text, its tables, its notes."""
    from pptx import Presentation

    deck = _opened(".pptx", Presentation, data)
    pages = []
    for number, slide in enumerate(deck.slides, 1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        lines = [f"# {title}"] if title else []
        tables: list[Table] = []
        for shape in _shapes(slide.shapes):
            if shape is title_shape:
                continue
            if shape.has_table:
                name = " > ".join(filter(None, [title, f"Table {len(tables) + 1}"]))
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                _place(table_or_text(rows, name), lines, tables)
            elif shape.has_text_frame and shape.text_frame.text.strip():
                lines.append(shape.text_frame.text)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append(notes.text)
        pages.append(Page("\n\n".join(lines), number=number, tables=tuple(tables)))
    return pages


def _shapes(shapes: Iterable[Any]) -> Iterable[Any]:
    """Shapes in slide order, inside groups too."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def load_xlsx(data: bytes) -> list[Page]:
    """One table per sheet, named after the sheet; formulas as their last computed value."""
    import openpyxl

    def open_workbook(stream: io.BytesIO) -> Any:
        return openpyxl.load_workbook(stream, read_only=True, data_only=True)

    book = _opened(".xlsx", open_workbook, data)
    try:
        tables = [
            table
            for sheet in book.worksheets
            if (table := make_table(list(sheet.iter_rows(values_only=True)), sheet.title))
        ]
    finally:
        book.close()
    if not tables:
        raise DocumentError("the workbook has no rows with text")
    return [Page("", tables=tuple(tables))]


def load_csv(data: bytes) -> list[Page]:
    """One table; the delimiter (comma, semicolon, tab) guessed from the first lines."""
    from ingest.text_decode import decode_text

    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise DocumentError(f"unreadable CSV ({exc})") from exc
    table = make_table(rows)
    if table is None:
        raise DocumentError("the CSV has no header and value rows")
    return [Page("", tables=(table,))]


def load_epub(data: bytes) -> list[Page]:
    """The book's chapters in reading order, each read as HTML."""
    import ebooklib
    from ebooklib import epub

    from ingest.loaders import load_html

    book = _opened(".epub", epub.read_epub, data)
    chapters = []
    for item_id, _ in book.spine:
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            chapters.extend(load_html(item.get_content()))
    if not chapters:
        raise DocumentError("the EPUB has no chapters")
    return chapters
