"""Context assembly: hits of one document become one passage when they touch (or lie
within the configured gap), cut from the document's own text."""

from __future__ import annotations

from app.answer.answerability import passage_label
from app.names import constraints, missing_from
from app.passages import assemble, passages_for
from app.settings import RetrievalSettings
from ingest.documents import Chunk, Hit, Origin

DOC = "甲" * 100 + "第一步。" + "乙" * 50 + "第二步。" + "丙" * 100
TEXTS = {"a.txt": DOC}


def hit(start: int, end: int, rank: int, source: str = "a.txt", origin: Origin = "text") -> Hit:
    text = TEXTS.get(source, "x" * end)[start:end]
    return Hit(Chunk(f"{source}-{start}", source, text, start, end, origin=origin), 1.0, rank)


def test_touching_chunks_become_one_passage_cut_from_the_document() -> None:
    passages = assemble([hit(0, 104, 1), hit(104, 158, 2)], document_text=TEXTS.get)
    assert len(passages) == 1
    assert passages[0].text == DOC[0:158]
    assert passages[0].chunk_ids == ["a.txt-0", "a.txt-104"]


def test_a_gap_is_filled_only_within_the_configured_characters() -> None:
    # "第一步。" and "第二步。" were found, the 50 characters between them were not.
    hits = [hit(100, 104, 2), hit(154, 158, 1)]
    apart = assemble(hits, document_text=TEXTS.get, gap=2)
    assert [p.text for p in apart] == ["第二步。", "第一步。"]  # in the order of best rank
    filled = assemble(hits, document_text=TEXTS.get, gap=50)
    assert [p.text for p in filled] == ["第一步。" + "乙" * 50 + "第二步。"]
    assert filled[0].rank == 1
    assert [p.text for p in assemble(hits, document_text=TEXTS.get, gap=49)] == [
        "第二步。",
        "第一步。",
    ]


def test_other_documents_tables_and_unmerged_hits_stay_apart() -> None:
    hits = [hit(0, 104, 1), hit(104, 158, 2, origin="table"), hit(0, 10, 3, source="b.txt")]
    passages = assemble(hits, document_text=TEXTS.get, gap=1000)
    assert [(p.source, p.origin) for p in passages] == [
        ("a.txt", "text"),
        ("a.txt", "table"),
        ("b.txt", "text"),
    ]
    assert len(assemble(hits[:1] + hits[:1], document_text=TEXTS.get, merge=False)) == 2


def test_without_the_document_text_a_merged_passage_keeps_every_chunk() -> None:
    passages = assemble([hit(0, 104, 1), hit(154, 158, 2)], document_text=lambda _: None, gap=50)
    assert passages[0].text == DOC[0:104] + "\n" + "第二步。"


class Documents:
    """An index's documents as assembling reads them (the real one is ingest.reader)."""

    def __init__(self, titles: dict[str, str]) -> None:
        self.titles = titles

    def document_text(self, source: str) -> str | None:
        return TEXTS.get(source)

    def document_title(self, source: str) -> str:
        return self.titles.get(source, "")


def test_passages_for_reads_the_retrieval_settings() -> None:
    hits = [hit(100, 104, 2), hit(154, 158, 1)]
    documents = Documents({})
    assert len(passages_for(hits, documents, RetrievalSettings())) == 2
    assert len(passages_for(hits, documents, RetrievalSettings(merge_gap=50))) == 1
    assert len(passages_for(hits, documents, RetrievalSettings(merge_adjacent=False))) == 2


def test_a_passage_carries_its_documents_title_for_the_name_checks() -> None:
    # The question names the document; the chunk that answers is deep inside it and
    # never repeats the title.
    hits = [hit(100, 104, 1), hit(154, 158, 2)]
    wanted = constraints("TeamNotes 笔记里第一步是什么？")
    assert wanted == ["TeamNotes"]
    untitled = passages_for(hits, Documents({}), RetrievalSettings())
    assert missing_from(wanted, [passage_label(p) for p in untitled]) == ["TeamNotes"]
    titled = passages_for(hits, Documents({"a.txt": "TeamNotes"}), RetrievalSettings())
    assert [p.title for p in titled] == ["TeamNotes", "TeamNotes"]
    assert missing_from(wanted, [passage_label(p) for p in titled]) == []
    merged = passages_for(hits, Documents({"a.txt": "TeamNotes"}), RetrievalSettings(merge_gap=50))
    assert [p.title for p in merged] == ["TeamNotes"]
