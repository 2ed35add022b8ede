"""Answer checks: citations, grounding, declines, the prompt budget (no model needed)."""

from __future__ import annotations

from typing import Any

from app.answer import (
    Answerer,
    check_citations,
    checkable_names,
    declines,
    grounding_score,
    supported_sentences,
)
from app.components import retriever_from
from app.llm.base import Message
from app.passages import Passage
from app.settings import Settings
from ingest.embed import Embedder

PASSAGES = ["BookCorpus:包括超过 11,000 本电子书。", "LoRA 在冻结的权重旁加入低秩矩阵。"]


def test_bogus_markers_are_removed_and_wrong_ones_moved() -> None:
    text, cited = check_citations("LoRA 加入低秩矩阵[1]，BookCorpus 有 11,000 本[9]。", PASSAGES)
    assert text == "LoRA 加入低秩矩阵[2]，BookCorpus 有 11,000 本。"
    assert cited == [2]
    text, cited = check_citations("LoRA 加入低秩矩阵【2, 1】。", PASSAGES)
    assert cited == [2] and text == "LoRA 加入低秩矩阵[2]。"


def test_grounding_same_language_uses_bigrams() -> None:
    assert grounding_score("LoRA 在冻结的权重旁加入低秩矩阵[2]", PASSAGES) == 1.0
    invented = grounding_score("LoRA 由量子计算机训练，支持火星通信。", PASSAGES)
    assert invented is not None and invented < 0.5


def test_grounding_across_languages_uses_names_and_numbers() -> None:
    assert grounding_score("BookCorpus contains over 11,000 e-books [1].", PASSAGES) == 1.0
    assert grounding_score("It added FlashAttention and Multi-Query Attention.", PASSAGES) == 0.0
    assert grounding_score("Yes, it does.", PASSAGES) is None  # nothing checkable
    assert checkable_names("The model is Koala, 13B. Vicuna too.") == {"koala", "13b"}


def test_unsupported_sentences_are_pruned() -> None:
    answer = "LoRA 在冻结的权重旁加入低秩矩阵[2]。它由量子计算机训练，还支持火星通信[2]。"
    assert supported_sentences(answer, PASSAGES, threshold=0.5) == (
        "LoRA 在冻结的权重旁加入低秩矩阵[2]。"
    )
    assert (
        supported_sentences("它由量子计算机训练，还支持火星通信。", PASSAGES, threshold=0.5) == ""
    )
    english = "BookCorpus has over 11,000 e-books [1]. It was built by Tsinghua."
    assert supported_sentences(english, PASSAGES, threshold=0.5) == (
        "BookCorpus has over 11,000 e-books [1]."
    )


def test_declines_are_recognised() -> None:
    assert declines("知识库中没有找到相关内容。")
    assert declines("The knowledge base does not contain this.")
    assert not declines("Elo 评级系统，广泛应用于国际象棋[1]。")


def test_prompt_fits_the_context_window(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.context_window = 900  # tokens = characters for the scripted generator
    retriever = retriever_from(notes_settings, embedder=embedder)
    answerer = Answerer(settings=notes_settings, retriever=retriever, generator=scripted)
    long = [
        Passage(f"d{i}.txt", "大模型" * 200, 0, 600, None, "", [f"c{i}"], i) for i in range(1, 4)
    ]
    messages, kept = answerer._prompt("问题？", "zh", [Message("user", "早先的问题")], long)
    total = sum(len(m.content) for m in messages)
    budget = 900 - notes_settings.llm.max_new_tokens
    assert total <= budget and len(kept) >= 1
    assert kept[-1].text == "大模型" * 200 or len(kept[-1].text) < 600  # cut, never overflowed
    assert messages[1].content == "早先的问题"  # history is given to the model


def test_cross_language_prompt_carries_the_translation(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    retriever = retriever_from(notes_settings, embedder=embedder)
    answerer = Answerer(settings=notes_settings, retriever=retriever, generator=scripted)
    passage = Passage("a.txt", "BookCorpus:包括超过 11,000 本电子书", 0, 10, None, "", ["c"], 1)
    messages, _ = answerer._prompt(
        "How many e-books?", "en", [], [passage], hint="BookCorpus包含多少本电子书？"
    )
    assert "BookCorpus包含多少本电子书？" in messages[-1].content
    assert "answer in English" in messages[0].content
