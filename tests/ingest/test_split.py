from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.documents import Span
from ingest.split import ChunkingOptions, document_title, split_text

NOTES = Path(__file__).resolve().parents[2] / "notes"
SENTENCE_END = "。！？；!?"


def _split(text: str, size: int = 120, overlap: int = 30) -> list:
    return split_text(text, source="t.txt", doc_hash="h", options=ChunkingOptions(size, overlap))


def test_offsets_are_exact_slices_of_the_document() -> None:
    for path in sorted(NOTES.glob("*.txt")):
        text = clean_text(path.read_text(encoding="utf-8"))
        chunks = _split(text, 300, 60)
        assert chunks, path
        for c in chunks:
            assert text[c.start : c.end] == c.text
            assert c.text == c.text.strip() and c.text


def test_chunks_respect_size_and_never_cut_a_sentence() -> None:
    sentences = [f"第{i}句话讲的是大模型的第{i}个特点，它很重要。" for i in range(40)]
    text = "标题\n\n" + "".join(sentences)
    chunks = _split(text, 100, 25)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 100
        # every chunk ends at a sentence end (or the heading line)
        assert c.text[-1] in SENTENCE_END or c.text == "标题"
        body = c.text.removeprefix("标题\n\n")
        assert body[:1] == "第", "a chunk starts mid-sentence"


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    text = "".join(f"这是第{i:02d}个完整的句子。" for i in range(30))
    chunks = _split(text, 60, 25)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "no overlap"
        assert a.end - b.start <= 25
        assert text[b.start : a.end].endswith("。")


def test_a_sentence_longer_than_the_size_is_cut() -> None:
    text = "长" * 250 + "。短句。"
    chunks = _split(text, 100, 0)
    assert [len(c.text) for c in chunks][:2] == [100, 100]
    assert "".join(c.text for c in chunks).replace("。", "") == "长" * 250 + "短句"


def test_english_sentences_split_on_periods() -> None:
    text = "Retrieval matters. " * 20
    chunks = _split(text.strip(), 60, 0)
    assert all(c.text.endswith(".") for c in chunks)


def test_heading_breadcrumbs_on_the_bundled_notes() -> None:
    text = clean_text((NOTES / "000_20a23b293464c974.txt").read_text(encoding="utf-8"))
    chunks = _split(text, 300, 60)
    history = next(c for c in chunks if "Transformer架构的出现" in c.text)
    assert history.heading.endswith("大模型的发展脉络")
    assert " > " in history.heading


def test_markdown_headings_nest() -> None:
    text = (
        "# 总览\n\n引言一句。\n\n## 第一节\n\n"
        + "第一节的内容很长。" * 3
        + "\n\n### 细节\n\n细节内容在这里，足够长的一段话用来测试。"
    )
    chunks = _split(text, 300, 0)
    detail = next(c for c in chunks if "细节内容" in c.text)
    assert detail.heading == "总览 > 第一节 > 细节"


@pytest.mark.parametrize("size", [80, 200, 400])
def test_no_text_is_lost(size: int) -> None:
    text = clean_text((NOTES / "001_4466b67d58c97d80.txt").read_text(encoding="utf-8"))
    chunks = _split(text, size, 0)
    covered = "".join(c.text for c in chunks)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)


def test_pages_keep_their_numbers() -> None:
    text = "第一页的内容。\n\n第二页的内容。"
    spans = [Span(0, 7, 1), Span(9, 16, 2)]
    chunks = split_text(
        text, source="a.pdf", doc_hash="h", options=ChunkingOptions(300, 0), page_spans=spans
    )
    assert [(c.page, c.text) for c in chunks] == [(1, "第一页的内容。"), (2, "第二页的内容。")]


def test_a_document_is_titled_by_its_first_line_or_its_first_heading() -> None:
    options = ChunkingOptions(size=350, overlap=70)

    def title(text: str) -> str:
        return document_title(text, split_text(text, source="a.md", doc_hash="h", options=options))

    assert title("\n# 大模型综述 #\n\n概述\n\n大模型是参数很多的模型。") == "大模型综述"
    assert title("LLM调研笔记\n\nLLM调研\n\n大模型的不足：表现不尽人意。") == "LLM调研笔记"
    # A long first paragraph is no title: the first heading is, when there is one.
    prose = "这是一段很长的正文，" * 12 + "结束。"
    assert title(f"{prose}\n\n## 安装\n\n先安装依赖，再运行。") == "安装"
    clipped = title(prose)
    assert len(clipped) == 80 and clipped.endswith("…") and prose.startswith(clipped[:-1])
    assert title("") == ""


def test_rows_of_a_plain_text_table_keep_its_header_in_the_breadcrumb() -> None:
    # The bundled notes' model table, clipped from a web page to space-separated lines:
    # the chunk holding TigerBot's row starts below the header line.
    text = clean_text((NOTES / "000_20a23b293464c974.txt").read_text(encoding="utf-8"))
    chunks = _split(text, 300, 60)
    tiger = next(c for c in chunks if "TigerBot 2023-08" in c.text)
    assert "模型 最新时间" not in tiger.text
    assert tiger.heading.endswith(" > 模型 | 最新时间 | 大小 | 项目地址 | 机构单位")
    first = next(c for c in chunks if "模型 最新时间" in c.text)
    assert "最新时间" not in first.heading  # it holds the header already


def test_a_markdown_table_cut_between_rows_keeps_its_header() -> None:
    rows = "\n".join(f"| 模型{i} | 2023-0{i % 9 + 1} | {i}B |" for i in range(12))
    text = f"# 模型表\n\n| 模型 | 时间 | 大小 |\n|---|---|---|\n{rows}"
    later = [c for c in _split(text, 80, 0) if "| 模型 |" not in c.text]
    assert later and all(c.heading == "模型表 > 模型 | 时间 | 大小" for c in later)


@pytest.mark.parametrize(
    "lines",
    [
        # wrapped English prose: lines without end punctuation, but full of function words
        "Retrieval finds the passages\nthat the model reads before it\nanswers a question",
        # a list whose items start alike
        "Stage 1: 预训练(Pretrain)\nStage 2: 监督微调(SFT)\nStage 3: 对齐(RLHF)",
        # shell commands
        "$ git checkout release\n$ vi debian/rules\n$ make install now",
    ],
)
def test_prose_lists_and_commands_are_not_tables(lines: str) -> None:
    text = f"说明\n\n这是一段足够长的开头文字，用来让后面的几行成为同一节的内容。\n{lines}\n"
    assert {c.heading for c in _split(text, 40, 0)} <= {"说明"}
