"""Hybrid retrieval on the bundled notes with the real model, BM25 and FAISS."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.evaluate import is_relevant
from app.llm.base import GenerationRequest
from app.retrieve import Retriever, rrf
from app.settings import Settings
from app.translate import mask_names, plausible_translation, unmask_names
from app.wiring import retriever_from, search_from
from ingest.embed import Embedder
from ingest.keyword import KeywordIndex


@pytest.fixture
def retriever(notes_settings: Settings, embedder: Embedder) -> Retriever:
    return retriever_from(notes_settings, embedder=embedder)


def _rank(hits: list, evidence: str) -> int | None:  # type: ignore[type-arg]
    return next((h.rank for h in hits if is_relevant(h.chunk.text, [evidence])), None)


def test_traditional_question_finds_simplified_passage(retriever: Retriever) -> None:
    result = retriever.search("預訓練時 batch_size 一般設置多大？", top_k=5)
    assert _rank(result.hits, "batch_size尽量大(2048-成千上万)") == 1
    assert result.found


def test_simplified_question_finds_traditional_passage(retriever: Retriever) -> None:
    # 002 is written in Traditional Chinese
    result = retriever.search("Vicuna 公布的权重为什么是 delta？", top_k=5)
    assert result.hits[0].chunk.source == "002_83dbae278224fd8d.txt"
    assert _rank(result.hits, "vicuna模型公布的權(quán)重也是個delta") is not None


def test_english_question_finds_chinese_passage(retriever: Retriever) -> None:
    result = retriever.search("How many e-books does BookCorpus contain?", top_k=5)
    assert _rank(result.hits, "BookCorpus:包括超过 11,000 本电子书") == 1


def test_rare_keyword_found_by_bm25_lifts_what_dense_ranks_low(
    notes_settings: Settings, embedder: Embedder
) -> None:
    query = "TigerBot 是哪家公司开发的？"
    evidence = "TigerBot 2023-08 7/13/70B"
    dense_only = notes_settings.retrieval.model_copy(update={"bm25": False})
    dense = retriever_from(
        notes_settings.model_copy(update={"retrieval": dense_only}), embedder=embedder
    )
    # Dense alone ranked the row past 10th until the table's header went into its
    # breadcrumb (ingest.text_tables); it is still not first.
    dense_rank = _rank(dense.search(query, top_k=10).hits, evidence)
    assert dense_rank is None or dense_rank > 1
    hybrid = retriever_from(notes_settings, embedder=embedder)
    assert hybrid.keyword is not None
    bm25_rows = [row for row, _ in hybrid.keyword.search(query, 5)]
    assert any(is_relevant(c.text, [evidence]) for c in hybrid.index.chunks(bm25_rows)), (
        "BM25 should find the table row by the model name"
    )
    hybrid_rank = _rank(hybrid.search(query, top_k=10).hits, evidence)
    assert hybrid_rank is not None and (dense_rank is None or hybrid_rank <= dense_rank)


def test_bm25_is_loaded_once_not_rebuilt_per_query(
    notes_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bm25s

    calls = {"index": 0, "load": 0}
    real_index, real_load = bm25s.BM25.index, KeywordIndex.load.__func__  # type: ignore[attr-defined]

    def counting_index(self: bm25s.BM25, *args: object, **kwargs: object) -> object:
        calls["index"] += 1
        return real_index(self, *args, **kwargs)

    def counting_load(cls: type[KeywordIndex], folder: Path) -> KeywordIndex:
        calls["load"] += 1
        return real_load(cls, folder)  # type: ignore[no-any-return]

    monkeypatch.setattr(bm25s.BM25, "index", counting_index)
    monkeypatch.setattr(KeywordIndex, "load", classmethod(counting_load))
    retriever = retriever_from(notes_settings, embedder=embedder)
    for q in ("LoRA 的秩", "数据并行", "C-Eval 有多少题", "RLHF"):
        assert retriever.search(q, top_k=3).hits
    assert calls == {"index": 0, "load": 1}


def test_source_filter(retriever: Retriever) -> None:
    hits = retriever.search("大模型", top_k=5, sources=["003_*.txt"]).hits
    assert hits and {h.chunk.source for h in hits} == {"003_2d331f2dac39af09.txt"}
    assert retriever.search("大模型", sources=["nothing-*.md"]).hits == []


def test_unanswerable_marked_nothing_found(retriever: Retriever) -> None:
    result = retriever.search("FlashAttention 是如何减少显存读写的？")
    assert not result.found
    assert all(h.relevance < retriever.settings.relevance_threshold for h in result.hits)


def test_a_question_naming_what_one_passage_names_passes_the_gate(
    notes_settings: Settings, embedder: Embedder
) -> None:
    # Notes dev set (d002): the row that answers it says 虎博科技 under 机构单位 and
    # 7/13/70B under 大小, so no passage reaches the threshold; its name is in that row.
    question = "TigerBot 是哪家公司开发的？最大的版本有多少参数？"
    named = retriever_from(notes_settings, embedder=embedder)
    result = named.search(question)
    assert all(h.relevance < notes_settings.retrieval.relevance_threshold for h in result.hits)
    assert result.found and result.named == ["TigerBot"]
    cfg = notes_settings.retrieval.model_copy(update={"names_pass_gate": False})
    gate_only = retriever_from(
        notes_settings.model_copy(update={"retrieval": cfg}), embedder=embedder
    )
    assert not gate_only.search(question).found
    # A name no passage holds, or only a year, is no reason to go on.
    for unrelated in ("Mistral 7B 使用了什么注意力机制？", "2023 年哪里的红烧肉最好吃？"):
        result = named.search(unrelated)
        assert not result.found and result.named == []


def test_rrf_rewards_agreement() -> None:
    fused = rrf([([(1, 0.9), (2, 0.8), (3, 0.1)], 1.0), ([(2, 9.0), (4, 5.0)], 1.0)], k=60)
    assert [row for row, _ in fused] == [2, 1, 4, 3]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    weighted = rrf([([(1, 0.9)], 1.0), ([(2, 9.0)], 2.0)], k=60)
    assert [row for row, _ in weighted] == [2, 1]


class ScriptedTranslator:
    """A scripted generator standing in for the LLM in translation tests."""

    name = "scripted"
    context_window = 4096
    writes_text = True
    judges = False

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls = 0

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.calls += 1
        yield from self.reply

    def count_tokens(self, text: str) -> int:
        return len(text)

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        return None


def test_query_translation_is_fused_and_cached(
    notes_settings: Settings, embedder: Embedder
) -> None:
    cfg = notes_settings.retrieval.model_copy(update={"translate_query": True})
    settings = notes_settings.model_copy(update={"retrieval": cfg})
    llm = ScriptedTranslator("提示微调 P-Tuning 是什么？")
    retriever = retriever_from(settings, embedder=embedder)
    search = search_from(settings, retriever, lambda: llm)
    question = "What is prompt tuning (P-Tuning)?"
    evidence = "提示微调:P-Tuning,主要是在输入层加入可训练的提示向量"
    first = search(question, top_k=10)
    again = search(question, top_k=10)
    assert first.queries == [question, "提示微调 P-Tuning 是什么？"]
    assert "translate" in first.timings
    assert llm.calls == 1  # cached
    alone = retriever.search(question, top_k=10)  # the retriever itself never translates
    assert alone.queries == [question]
    with_translation = _rank(first.hits, evidence)
    without = _rank(alone.hits, evidence)
    assert with_translation is not None and (without is None or with_translation < without)
    assert [h.chunk.chunk_id for h in again.hits] == [h.chunk.chunk_id for h in first.hits]
    # a Chinese question is not translated
    search("LoRA 是什么？")
    assert llm.calls == 1
    # translation off: the search is the retriever's alone, and the model is never made
    off = settings.model_copy(
        update={"retrieval": cfg.model_copy(update={"translate_query": False})}
    )
    assert search_from(off, retriever, lambda: llm)(question).queries == [question]
    assert llm.calls == 1


def test_a_translation_that_answers_or_drops_a_name_is_not_used() -> None:
    assert plausible_translation("Who developed GLM-130B?", "GLM-130B的开发者是谁？")
    assert not plausible_translation("Who developed GLM-130B?", "GLM-130B是由阿里云开发的。")
    assert not plausible_translation("Is Baichuan-7B open?", "贝川7B开源吗？")
    assert not plausible_translation("What is derived from Alpaca?", "哪些模型是基于阿波罗的？")
    # Declining is no translation (no "?" asked, so only the decline tells)...
    sorry = "Sorry, the knowledge base does not contain the answer to this question. (LoRA)"
    assert not plausible_translation("Explain LoRA", sorry)
    assert not plausible_translation("Explain LoRA", "抱歉，知识库中没有找到能回答这个问题的内容。")
    # ...unless the question says the same.
    assert plausible_translation(
        "Which models are not mentioned in the note", "笔记中没有提到哪些模型"
    )


def test_names_travel_through_translation_as_placeholders() -> None:
    masked, names = mask_names("How do Chinese-Vicuna and PaLM 2 differ from Alpaca?")
    assert masked == "How do <1> and <2> <3> differ from <4>?"
    assert names == ["Chinese-Vicuna", "PaLM", "2", "Alpaca"]
    restored = unmask_names("<1>和<2> <3>与 alpaca 有何不同？", names)
    assert restored == "Chinese-Vicuna和PaLM 2与 alpaca 有何不同？"  # written out: kept
    lost = unmask_names("<1>和<2>与阿波罗有何不同？", names)  # "2" and "Alpaca" dropped
    assert lost == "Chinese-Vicuna和PaLM与阿波罗有何不同 (2, Alpaca)？"


def test_unusable_translation_searches_with_the_original_alone(
    notes_settings: Settings, embedder: Embedder
) -> None:
    cfg = notes_settings.retrieval.model_copy(update={"translate_query": True})
    settings = notes_settings.model_copy(update={"retrieval": cfg})
    llm = ScriptedTranslator("GLM-130B是由阿里云开发的。")  # an answer, not a translation
    search = search_from(settings, retriever_from(settings, embedder=embedder), lambda: llm)
    assert search("Who developed GLM-130B?").queries == ["Who developed GLM-130B?"]
    search("Who developed GLM-130B?")
    assert llm.calls == 1  # the failure is remembered too
