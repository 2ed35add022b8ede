"""Small real documents the format tests make: PDFs with fpdf2 (text, a ruled table, a
page that is only a picture), pictures of text drawn with Pillow in a CJK font, and Office
files written with their own libraries (``from documents_made import ...``). bench/ocr.py
makes its scanned PDF with them too."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

# fonts-noto-cjk (.ci/run installs it); the collection's Simplified Chinese face.
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@cache
def cjk_font_file(tmp: str) -> Path:
    from fontTools.ttLib import TTCollection

    # fpdf2 embeds one face, not a collection: the SC face saved on its own.
    path = Path(tmp) / "NotoSansCJKsc.otf"
    collection = TTCollection(str(NOTO_CJK))
    face = next(f for f in collection.fonts if "CJK SC" in f["name"].getDebugName(1))
    face.save(str(path))
    return path


def require_cjk_font() -> None:
    """A missing CJK font skips the test, and fails it in CI."""
    import pytest

    if not NOTO_CJK.exists():
        message = f"{NOTO_CJK} is missing: apt-get install fonts-noto-cjk (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def cjk_font(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CJK face for fpdf2 (``require_cjk_font``)."""
    require_cjk_font()
    return cjk_font_file(str(tmp_path_factory.getbasetemp()))


def text_picture(lines: Sequence[str], *, size: int = 34, width: int = 1000) -> bytes:
    """PNG bytes of black text lines on white, as a phone photo of a notice would be."""
    from PIL import Image, ImageDraw, ImageFont

    require_cjk_font()  # a plain `make test` without fonts-noto-cjk failed here
    font = ImageFont.truetype(str(NOTO_CJK), size, index=2)  # index 2: the SC face
    image = Image.new("RGB", (width, 40 + len(lines) * int(size * 2)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + i * int(size * 2)), line, font=font, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pdf_with(font: Path, pages: Sequence[object]) -> bytes:
    """A PDF whose pages are, in order: a str (a paragraph), a list of rows (a paragraph
    then a ruled table: first item the paragraph), or bytes (a page that is only that
    picture, as a scanner makes them)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("cjk", fname=str(font))
    pdf.add_font("cjk", style="B", fname=str(font))
    pdf.set_font("cjk", size=11)
    for page in pages:
        pdf.add_page()
        if isinstance(page, bytes):
            pdf.image(io.BytesIO(page), x=10, y=10, w=190)
        elif isinstance(page, str):
            pdf.multi_cell(0, 8, text=page)
        else:
            paragraph, *rows = page  # type: ignore[misc]
            pdf.multi_cell(0, 8, text=str(paragraph))
            with pdf.table() as table:
                for row in rows:
                    cells = table.row()
                    for cell in row:
                        cells.cell(str(cell))
    return bytes(pdf.output())


def character_accuracy(recognised: str, truth: str) -> float:
    """Share of the known characters recognised, in order (whitespace ignored)."""
    import difflib

    a, b = "".join(recognised.split()), "".join(truth.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(m.size for m in matcher.get_matching_blocks()) / len(b)
