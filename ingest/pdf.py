"""PDF: the text layer of each page (PDFium), its ruled tables (found by pdfplumber,
their cells read by PDFium), and for a page with (almost) no text layer, a rendering for
the OCR stage.

PDFium (Chrome's PDF engine, via pypdfium2) reads the CID-keyed CJK fonts that pdfminer
and pypdf turn into NULs or nothing. A page's tables are taken out of its text, so their
cells are not indexed twice, once as a jumble of words and once as rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.documents import Page, Table
from ingest.errors import DocumentError
from ingest.tables import make_table

# A page whose text layer has fewer visible characters than this is a picture (a scan,
# a photographed notice) and is read by OCR. A real text page has hundreds; a scanned
# one has none, or a stamp's few characters.
TEXT_LAYER_MIN_CHARS = 10
RENDER_SCALE = 2.0  # 144 dpi: PP-OCR reads 10-point CJK reliably from here up


def load_pdf(data: bytes) -> list[Page]:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError("the PDF is encrypted") from exc
        raise DocumentError(f"corrupt or unreadable PDF ({exc})") from exc
    try:
        grids = _table_grids(data, len(pdf))
        pages = []
        numbered = 0  # tables are numbered through the document
        for i in range(len(pdf)):
            page = pdf[i]
            text, tables = _page_text(page, grids.get(i, []), first=numbered + 1)
            numbered += len(grids.get(i, []))
            picture = len("".join(text.split())) < TEXT_LAYER_MIN_CHARS and not tables
            image = _renderer(data, i) if picture else None
            pages.append(Page(text, number=i + 1, tables=tables, image=image))
        return pages
    except pypdfium2.PdfiumError as exc:
        raise DocumentError(f"corrupt or unreadable PDF ({exc})") from exc
    finally:
        pdf.close()


# A table as pdfplumber finds it: its box and its rows of cell boxes (None: merged away),
# in pdfplumber's coordinates (x0, top, x1, bottom; top measured from the page's top).
_Box = tuple[float, float, float, float]
_Grid = tuple[_Box, list[list[_Box | None]]]


def _table_grids(data: bytes, count: int) -> dict[int, list[_Grid]]:
    """The ruled tables of each page, by page index."""
    import io

    try:
        import pdfplumber
    except ImportError:  # tables then stay in the text layer, as words
        return {}
    grids: dict[int, list[_Grid]] = {}
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i, page in enumerate(pdf.pages[:count]):
                found = [(t.bbox, [list(row.cells) for row in t.rows]) for t in page.find_tables()]
                if found:
                    grids[i] = found
    except Exception:  # pdfminer's errors share no base class; the text is read without
        return {}
    return grids


def _page_text(page: Any, grids: list[_Grid], *, first: int) -> tuple[str, tuple[Table, ...]]:
    """The page's text outside its tables, and the tables (numbered from ``first``)."""
    textpage = page.get_textpage()
    height = page.get_height()

    def read(box: _Box) -> str:
        x0, top, x1, bottom = box
        return str(textpage.get_text_bounded(x0, height - bottom, x1, height - top))

    found = [
        make_table([[read(c) if c else "" for c in row] for row in rows], f"Table {n}")
        for n, (_, rows) in enumerate(grids, first)
    ]
    tables = [t for t in found if t is not None]
    # No table, or a one-row grid (a framed line) among them: the words stay in the text.
    if not tables or len(tables) < len(found):
        return _lines(str(textpage.get_text_range())), ()
    kept = []
    for index in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(index)
        x, y = (left + right) / 2, height - (bottom + top) / 2
        if not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b, _ in grids):
            kept.append(textpage.get_text_range(index, 1))
    return _lines("".join(kept)), tuple(tables)


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _renderer(data: bytes, index: int) -> Callable[[], bytes]:
    def render() -> bytes:
        import pypdfium2

        from ingest.ocr import png_bytes

        pdf = pypdfium2.PdfDocument(data)
        try:
            return png_bytes(pdf[index].render(scale=RENDER_SCALE).to_pil())
        finally:
            pdf.close()

    return render
