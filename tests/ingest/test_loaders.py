from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import DocumentError
from ingest.loaders import decode_text, loader_for

CHINESE = "外挂知识库的流程：加载文件，读取文本，文本分割，文本向量化。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_text_encodings_chinese_users_have(encoding: str) -> None:
    assert decode_text(CHINESE.encode(encoding)) == CHINESE


TRADITIONAL = "繁體中文測試：颱風預報系統將於明天上線，請各單位配合測試。"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (TRADITIONAL, "big5"),  # GB18030 takes these bytes too, as kana and hangul
        (TRADITIONAL, "utf-32"),  # its BOM starts like UTF-16's
        ("Der Müller wohnt in der Großen Straße, die Größe ist gut.", "cp1252"),
        ("Café crème brûlée à la carte, très bien.", "cp1252"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
        ("外挂知识库：加载文件。The model 文心一言 is good.", "gbk"),  # hanzi among Latin
    ],
)
def test_encodings_that_gb18030_would_misread(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_an_html_files_declared_charset_is_used() -> None:
    html = f'<html><head><meta charset="big5"></head><body><p>{TRADITIONAL}</p></body></html>'
    assert TRADITIONAL in loader_for(".html")(html.encode("big5"))[0].text
    # A declaration the bytes do not fit is a guess like any other.
    wrong = f'<meta charset="utf-8"><p>{CHINESE}</p>'.encode("gbk")
    assert CHINESE in loader_for(".html")(wrong)[0].text


def test_nul_characters_past_the_binary_check_are_dropped() -> None:
    data = ("正文。" * 2000).encode("utf-8") + b"\x00\x00tail"
    assert "\x00" not in decode_text(data) and decode_text(data).endswith("tail")


def test_a_stray_byte_does_not_crash() -> None:
    data = CHINESE.encode("utf-8") + b"\xff\xfe\x80 tail"
    text = decode_text(data)
    assert "外挂知识库" in text and "tail" in text


def test_binary_data_is_refused() -> None:
    with pytest.raises(DocumentError, match="binary"):
        decode_text(bytes(range(256)) * 4)


def test_html_keeps_text_and_drops_scripts_and_styles() -> None:
    html = (
        "<html><head><title>t</title><style>.x{color:red}</style></head><body>"
        "<h1>大模型</h1><p>第一段正文。</p><script>var secret = 1;</script>"
        "<h2>微调</h2><ul><li>LoRA</li><li>P-Tuning</li></ul></body></html>"
    ).encode()
    text = loader_for(".html")(html)[0].text
    assert "第一段正文。" in text and "LoRA" in text
    assert "secret" not in text and "color" not in text
    assert "# 大模型" in text and "## 微调" in text


def test_markdown_drops_images_and_link_targets() -> None:
    md = "# 标题\n\n![图](img.png) 见[官方网站](https://example.com)。".encode()
    text = loader_for(".md")(md)[0].text
    assert "img.png" not in text and "example.com" not in text
    assert "官方网站" in text and "# 标题" in text


def test_pdf_pages_keep_numbers(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for words in ("Retrieval augmented generation", "Low rank adaptation"):
        pdf.add_page()
        pdf.cell(text=words)
    pages = loader_for(".pdf")(bytes(pdf.output()))
    assert [p.number for p in pages] == [1, 2]
    assert "Low rank adaptation" in pages[1].text


def test_corrupt_pdf_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="PDF"):
        loader_for(".pdf")(b"%PDF-1.4\n this is not really a pdf")


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("微调方法", level=1)
    document.add_paragraph("LoRA 在冻结的权重旁加入低秩矩阵。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "方法"
    table.rows[0].cells[1].text = "LoRA"
    path = tmp_path / "a.docx"
    document.save(str(path))
    text = loader_for(".docx")(path.read_bytes())[0].text
    assert "# 微调方法" in text
    assert "LoRA 在冻结的权重旁加入低秩矩阵。" in text
    assert "方法 | LoRA" in text  # a one-row table is a line of text, not a table


def test_corrupt_docx_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="docx"):
        loader_for(".docx")(b"PK\x03\x04 broken")


def test_a_table_nested_in_a_docx_cell_keeps_its_text(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    for row, (name, what) in enumerate([("方法", "说明"), ("LoRA", "低秩矩阵")]):
        table.cell(row, 0).text, table.cell(row, 1).text = name, what
    inner = table.cell(1, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "秩 r", "通常取 8"
    path = tmp_path / "nested.docx"
    document.save(str(path))
    page = loader_for(".docx")(path.read_bytes())[0]
    cells = [cell for t in page.tables for row in t.rows for cell in row] + [page.text]
    assert any("低秩矩阵" in c and "秩 r 通常取 8" in c for c in cells), cells


def test_unsupported_suffix() -> None:
    with pytest.raises(DocumentError, match="unsupported"):
        loader_for(".exe")
