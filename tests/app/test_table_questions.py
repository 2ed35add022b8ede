"""A question about one cell of a table finds the piece of the table with that row: real
model, FAISS and BM25 over a workbook and two notes.

The pieces of one table look alike to the embedder (their dense scores differ in the
third decimal), so the row's piece is asked for among the first three, not first: BM25
finds the name, and rank fusion weighs the near-tied dense ranks as much.
"""

from __future__ import annotations

import pytest

from app.settings import Settings
from app.wiring import retriever_from
from ingest.embed import Embedder

# 40 made-up models: a table of several chunks, where only the row names the answer.
ROWS = [
    (f"Model-{chr(65 + i // 10)}{i % 10}", f"{3 + i * 2}B", f"实验室{i:02d}") for i in range(40)
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, index_of) -> Settings:  # type: ignore[no-untyped-def]
    import openpyxl

    folder = tmp_path_factory.mktemp("table-docs")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "开源模型"
    sheet.append(["模型", "参数量", "发布方"])
    for row in ROWS:
        sheet.append(list(row))
    book.save(folder / "models.xlsx")
    (folder / "a.md").write_text("# 训练\n\n预训练需要大量的文本数据和算力。", encoding="utf-8")
    (folder / "b.txt").write_text("检索增强生成先检索相关段落，再让模型回答。", encoding="utf-8")
    return index_of([folder], "table-index")


@pytest.mark.parametrize("i", [3, 17, 36])
def test_a_cell_question_retrieves_its_row(settings: Settings, embedder: Embedder, i: int) -> None:
    name, size, lab = ROWS[i]
    retriever = retriever_from(settings, embedder=embedder)
    hits = retriever.search(f"{name} 的参数量是多少？", top_k=3).hits
    [hit] = [h for h in hits if f"| {name} | {size} | {lab} |" in h.chunk.text]
    assert hit.chunk.origin == "table" and hit.chunk.source == "models.xlsx"
    assert hit.chunk.heading == "开源模型: 模型 | 参数量 | 发布方"
    assert all(h.chunk.origin == "table" for h in hits)  # not the notes about training
