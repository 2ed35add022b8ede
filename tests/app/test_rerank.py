"""The cross-encoder reranker's real loading and scoring code, on a tiny random model.

The model is built and saved by the test itself (random weights): these tests check the
mechanics (loading by path, one score per passage, ordering), not ranking quality.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rerank import CrossEncoderReranker
from app.settings import Settings
from app.wiring import retriever_from
from ingest.embed import Embedder
from ingest.errors import ModelUnavailableError


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-ce")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *"大模型训练数据微调检索知识库的是什么",
        "lora",
        "rag",
    ]
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_scores_one_per_passage_in_0_1(tiny_cross_encoder: Path) -> None:
    reranker = CrossEncoderReranker(str(tiny_cross_encoder))
    scores = reranker.scores("什么是检索", ["检索知识库", "模型训练", "微调数据"])
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    assert len(set(scores)) > 1  # random weights still tell different inputs apart
    assert reranker.scores("x", []) == []
    assert reranker.name == f"cross-encoder/{tiny_cross_encoder.name}"


def test_retriever_orders_by_reranker(
    tiny_cross_encoder: Path, notes_settings: Settings, embedder: Embedder
) -> None:
    rerank = notes_settings.retrieval.rerank.model_copy(
        update={"model": str(tiny_cross_encoder), "top_n": 8}
    )
    cfg = notes_settings.retrieval.model_copy(update={"rerank": rerank})
    retriever = retriever_from(
        notes_settings.model_copy(update={"retrieval": cfg}), embedder=embedder
    )
    result = retriever.search("LoRA 微调", top_k=5)
    scores = [h.scores["rerank"] for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert [h.relevance for h in result.hits] == scores
    assert "rerank" in result.timings


def test_missing_reranker_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="reranker folder not found"):
        CrossEncoderReranker(str(tmp_path / "nope"))
