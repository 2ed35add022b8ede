"""Running headers, footers and page numbers of paged documents are dropped; the body,
and documents without pages, are left as they are. A real PDF built with fpdf2."""

from __future__ import annotations

from pathlib import Path

from building import build

from ingest.documents import Page
from ingest.embed import Embedder
from ingest.furniture import drop_page_furniture
from ingest.store import IndexStore

BODIES = [
    "Retrieval augmented generation finds passages first.",
    "Low rank adaptation trains two small matrices.",
    "Prefix tuning learns continuous prompts.",
    "Quantisation stores weights in four bits.",
]


def paged(header: str, footer: str) -> list[Page]:
    return [
        Page(
            f"{header}\n{body}\nSee the glossary.\nThe body goes on here.\nMore of it.\n"
            f"{footer.format(n=n)}",
            n,
        )
        for n, body in enumerate(BODIES, 1)
    ]


def test_headers_footers_and_page_numbers_go_the_body_stays() -> None:
    pages = drop_page_furniture(paged("ACME 内部资料 2024", "第 {n} 页 共 4 页"))
    for page, body in zip(pages, BODIES, strict=True):
        assert "ACME" not in page.text and "页" not in page.text
        # "See the glossary." recurs on every page too, but inside it, not at its edge.
        assert body in page.text and "See the glossary." in page.text
    plain = drop_page_furniture(paged("Quarterly report", "- {n} -"))
    assert all("Quarterly" not in p.text and "-" not in p.text for p in plain)


def test_short_or_unpaged_documents_are_untouched() -> None:
    two = paged("Header", "Page {n}")[:2]
    assert drop_page_furniture(two) == two
    unpaged = [Page("Header\nbody\nPage 1")] * 4
    assert drop_page_furniture(unpaged) == unpaged


def test_a_pdf_is_indexed_without_its_furniture(tmp_path: Path, embedder: Embedder) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for n, body in enumerate(BODIES, 1):
        pdf.add_page()
        for line in ("Confidential - ACME Corp", body, f"Page {n} of {len(BODIES)}"):
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.pdf").write_bytes(bytes(pdf.output()))
    store = IndexStore(tmp_path / "indexes" / "t")
    build(store, embedder, docs)
    chunks = [c for _, c in store.load().all_chunks()]
    text = "\n".join(c.text for c in chunks)
    assert all(body in text for body in BODIES)
    assert "Confidential" not in text and "Page 2 of 4" not in text
    assert {c.page for c in chunks} == {1, 2, 3, 4}
