"""The documents people have: PDF tables, scans and photos (real OCR), Office files and
e-books, each made by the test with the real libraries, loaded and built with the real
embedding model."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from building import build
from documents_made import character_accuracy, cjk_font, pdf_with, text_picture

from ingest.build import load_document
from ingest.discover import Candidate
from ingest.embed import Embedder
from ingest.errors import DocumentError
from ingest.loaders import loader_for
from ingest.ocr import RapidRecognizer, ocr_pages
from ingest.store import IndexStore

MODELS = [
    ("模型", "参数量", "发布方"),
    ("TigerBot", "7B", "虎博科技"),
    ("Baichuan2", "13B", "百川智能"),
    ("ChatGLM2", "6B", "智谱AI"),
]
SCAN = ["外挂知识库的流程是加载文件和读取文本。", "Retrieval augmented generation, 2023."]


@pytest.fixture(scope="module")
def font(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cjk_font(tmp_path_factory)


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "indexes" / "default")


def test_a_pdf_table_is_its_own_rows_and_leaves_the_text(font: Path) -> None:
    data = pdf_with(font, [["开源模型一览。下表列出参数量。", *MODELS], "第二页的正文。"])
    pages = loader_for(".pdf")(data)
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].tables[0].rows == tuple(MODELS)
    assert pages[0].tables[0].title == "Table 1"
    assert "开源模型一览" in pages[0].text
    assert "虎博科技" not in pages[0].text  # the cells are not in the text a second time
    assert not pages[0].needs_ocr and pages[1].text.strip() == "第二页的正文。"


def test_a_long_table_is_cut_between_rows_with_its_header_named_in_every_piece(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "型号"
    sheet.append(["型号", "显存", "价格（元）"])
    for i in range(60):
        sheet.append([f"GPU-{i:02d}", f"{8 + i} GB", 1000 + i * 37.0])
    path = tmp_path / "docs" / "gpus.xlsx"
    path.parent.mkdir()
    book.save(path)
    build(store, embedder, path.parent)
    chunks = [c for _, c in store.load().all_chunks()]
    assert len(chunks) > 3 and {c.origin for c in chunks} == {"table"}
    for chunk in chunks:
        assert chunk.heading == "型号: 型号 | 显存 | 价格（元）"
        lines = chunk.text.split("\n")
        assert all(line.startswith("| ") and line.endswith(" |") for line in lines)  # whole rows
    rows = [line for c in chunks for line in c.text.split("\n")[(2 if c is chunks[0] else 0) :]]
    assert len(rows) == 60 and rows[5] == "| GPU-05 | 13 GB | 1185 |"  # 1185.0 as typed


def test_docx_table_rows_keep_their_header_and_heading(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("开源模型", level=1)
    document.add_paragraph("下表列出几个模型。")
    table = document.add_table(rows=len(MODELS), cols=3)
    for r, row in enumerate(MODELS):
        for c, cell in enumerate(row):
            table.rows[r].cells[c].text = cell
    buffer = io.BytesIO()
    document.save(buffer)
    [page] = loader_for(".docx")(buffer.getvalue())
    assert page.tables[0].rows == tuple(MODELS)
    assert page.tables[0].title == "开源模型 > Table 1"
    assert "下表列出几个模型。" in page.text and "虎博科技" not in page.text


def test_pptx_slides_are_pages_with_notes_and_tables() -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "季度目标"
    first.placeholders[1].text = "上线知识库问答。"
    first.notes_slide.notes_text_frame.text = "讲者备注：强调离线部署。"
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "模型对比"
    grid = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate(MODELS[:3]):
        for c, cell in enumerate(row):
            grid.cell(r, c).text = cell
    buffer = io.BytesIO()
    deck.save(buffer)
    pages = loader_for(".pptx")(buffer.getvalue())
    assert [p.number for p in pages] == [1, 2]
    assert "# 季度目标" in pages[0].text and "上线知识库问答。" in pages[0].text
    assert "讲者备注：强调离线部署。" in pages[0].text
    assert pages[1].tables[0].title == "模型对比 > Table 1"
    assert pages[1].tables[0].rows == tuple(MODELS[:3])


def test_csv_in_gbk_with_semicolons() -> None:
    data = "\n".join(";".join(row) for row in MODELS).encode("gbk")
    [page] = loader_for(".csv")(data)
    assert page.tables[0].rows == tuple(MODELS)


def test_epub_chapters_in_reading_order() -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("id-1")
    book.set_title("笔记")
    chapters = []
    for n, body in enumerate(
        ["<h1>第一章</h1><p>先有文本。</p>", "<h1>第二章</h1><p>后有向量。</p>"]
    ):
        chapter = epub.EpubHtml(title=f"c{n}", file_name=f"c{n}.xhtml", lang="zh")
        chapter.content = f"<html><body>{body}</body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.spine = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    buffer = io.BytesIO()
    epub.write_epub(buffer, book)
    text = "\n".join(p.text for p in loader_for(".epub")(buffer.getvalue()))
    assert text.index("先有文本。") < text.index("后有向量。") and "# 第二章" in text


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx", ".epub"])
def test_damaged_office_files_are_reported(suffix: str) -> None:
    with pytest.raises(DocumentError, match="not a zip archive"):
        loader_for(suffix)(b"\xd0\xcf\x11\xe0 an encrypted Office file is an OLE container")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "not an office file")
    with pytest.raises(DocumentError, match="corrupt or unreadable"):
        loader_for(suffix)(archive.getvalue())


def test_an_encrypted_pdf_is_reported() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="hidden")
    with pytest.raises(DocumentError, match="encrypted"):
        loader_for(".pdf")(bytes(pdf.output()))


@pytest.mark.slow
def test_a_scanned_pdf_page_is_read_by_ocr_with_its_page_number(
    font: Path, tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    data = pdf_with(font, ["第一页有文字层，不需要识别。", text_picture(SCAN)])
    pages = loader_for(".pdf")(data)
    assert [p.needs_ocr for p in pages] == [False, True]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(data)
    report = build(store, embedder, folder)
    assert report.ok, report.failed
    chunks = [c for _, c in store.load().all_chunks()]
    assert [(c.page, c.origin) for c in chunks] == [(1, "text"), (2, "ocr")]
    assert character_accuracy(chunks[1].text, "".join(SCAN)) >= 0.9, chunks[1].text


@pytest.mark.slow
def test_a_photo_of_chinese_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notice.png"
    path.write_bytes(text_picture(SCAN))
    doc = load_document(Candidate("notice.png", path))
    assert doc.pages[0].needs_ocr and doc.pages[0].text == ""
    [page] = ocr_pages(doc, RapidRecognizer()).pages
    assert page.ocr and page.number is None
    lines = page.text.split("\n")
    assert len(lines) == 2 and lines[1].startswith("Retrieval augmented generation")
    assert character_accuracy(page.text, "".join(SCAN)) >= 0.9, page.text


def test_a_picture_with_ocr_off_fails_with_a_reason(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    from ingest.ocr import OcrOptions

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notice.png").write_bytes(text_picture(SCAN[:1]))
    (folder / "a.txt").write_text("一段普通的文字，足够被索引。", encoding="utf-8")
    report = build(store, embedder, folder, ocr=OcrOptions(enabled=False))
    assert [(Path(p).name, why) for p, why in report.failed] == [
        ("notice.png", "this page is a picture and OCR is off (ocr.enabled)")
    ]
    assert report.added == ["a.txt"]
