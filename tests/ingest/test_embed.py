"""The embedding backends, with real models: m3e-small (sentence-transformers) and e5."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from models_on_disk import M3E_SMALL, find_m3e_small, needs_m3e

from ingest.build import build_index
from ingest.embed import (
    BGE_EN_QUERY_INSTRUCTION,
    BGE_ZH_QUERY_INSTRUCTION,
    E5Embedder,
    Embedder,
    SentenceTransformerEmbedder,
    default_prefixes,
    make_embedder,
)
from ingest.errors import ConfigError, IndexMismatchError, ModelUnavailableError
from ingest.split import ChunkingOptions
from ingest.store import IndexStore


@pytest.fixture(scope="module")
def m3e_load() -> Iterator[tuple[SentenceTransformerEmbedder, list[object]]]:
    """m3e-small loaded by path offline, with every network connection attempt recorded
    (and refused) while it loads."""
    assert M3E_SMALL is not None
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("no network in this test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse)
        embedder = SentenceTransformerEmbedder(str(M3E_SMALL), batch_size=4)
    yield embedder, attempts


@pytest.fixture
def m3e(m3e_load: tuple[SentenceTransformerEmbedder, list[object]]) -> SentenceTransformerEmbedder:
    return m3e_load[0]


def test_locating_the_model_folder_does_not_import_the_package() -> None:
    find_m3e_small()
    assert "embedding" not in sys.modules


@needs_m3e
def test_m3e_loads_offline_by_path(
    m3e_load: tuple[SentenceTransformerEmbedder, list[object]],
) -> None:
    embedder, attempts = m3e_load
    assert attempts == []
    assert isinstance(embedder, Embedder)
    assert embedder.name == "sentence-transformers/m3e-small"


@needs_m3e
def test_m3e_dim_matches_the_model(m3e: SentenceTransformerEmbedder) -> None:
    assert M3E_SMALL is not None
    config = json.loads((M3E_SMALL / "config.json").read_text(encoding="utf-8"))
    assert m3e.dim == config["hidden_size"] == 512
    vectors = m3e.embed_documents(["向量检索", "全文检索", "知识库"])
    assert vectors.shape == (3, 512)
    assert vectors.dtype == np.float32
    assert m3e.embed_query("向量检索").shape == (512,)


@needs_m3e
def test_m3e_vectors_are_unit_length(m3e: SentenceTransformerEmbedder) -> None:
    texts = ["大模型微调需要多少显存？", "LoRA 只训练很少的参数。", "短", "x" * 600]
    norms = np.linalg.norm(m3e.embed_documents(texts), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    assert np.linalg.norm(m3e.embed_query("什么是 LoRA？")) == pytest.approx(1.0, abs=1e-5)


@needs_m3e
def test_m3e_puts_a_question_closest_to_its_passage(m3e: SentenceTransformerEmbedder) -> None:
    passages = m3e.embed_documents(
        [
            "FAISS 是 Facebook 开源的向量检索库，支持近似最近邻搜索。",
            "红烧肉要先焯水，再加冰糖和酱油小火慢炖一个小时。",
        ]
    )
    retrieval = passages @ m3e.embed_query("有哪些开源的向量检索库？")
    cooking = passages @ m3e.embed_query("红烧肉怎么做才好吃？")
    assert retrieval[0] > retrieval[1]
    assert cooking[1] > cooking[0]


def test_default_prefixes_follow_the_model_family() -> None:
    assert default_prefixes("/models/multilingual-e5-small") == ("query: ", "passage: ")
    assert default_prefixes("models/bge-small-zh-v1.5/") == (BGE_ZH_QUERY_INSTRUCTION, "")
    assert BGE_ZH_QUERY_INSTRUCTION == "为这个句子生成表示以用于检索相关文章："
    assert default_prefixes("BAAI/bge-base-en-v1.5") == (BGE_EN_QUERY_INSTRUCTION, "")
    # BGE-M3 is used without an instruction, whatever language.
    assert default_prefixes("models/bge-m3") == ("", "")
    assert default_prefixes("site-packages/embedding/m3e-small") == ("", "")


@needs_m3e
def test_prefixes_are_the_family_default_unless_given(
    m3e: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    assert M3E_SMALL is not None
    # The same weights under an e5-like folder name get the e5 prefixes.
    e5_named = tmp_path / "my-e5-model"
    e5_named.symlink_to(M3E_SMALL, target_is_directory=True)
    question, passage = "什么是向量检索？", "向量检索按语义找相近的文本。"

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.allclose(a, b, atol=1e-5))

    guessed = SentenceTransformerEmbedder(str(e5_named))
    assert same(guessed.embed_query(question), m3e.embed_documents(["query: " + question])[0])
    assert same(guessed.embed_documents([passage]), m3e.embed_documents(["passage: " + passage]))

    given = SentenceTransformerEmbedder(str(e5_named), query_prefix="", passage_prefix="")
    assert same(given.embed_query(question), m3e.embed_query(question))
    assert same(given.embed_documents([passage]), m3e.embed_documents([passage]))

    custom = SentenceTransformerEmbedder(str(M3E_SMALL), query_prefix="问题：")
    assert same(custom.embed_query(question), m3e.embed_documents(["问题：" + question])[0])
    assert not same(custom.embed_query(question), m3e.embed_query(question))


def test_a_missing_model_folder_says_nothing_is_downloaded(tmp_path: Path) -> None:
    missing = tmp_path / "bge-small-zh"
    with pytest.raises(ModelUnavailableError, match="nothing is downloaded") as info:
        make_embedder("sentence_transformers", model=str(missing))
    assert str(missing) in str(info.value)


def test_an_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="sentence_transformers"):
        make_embedder("word2vec", model="")


@needs_m3e
def test_make_embedder_builds_the_sentence_transformers_backend() -> None:
    assert M3E_SMALL is not None
    embedder = make_embedder("sentence_transformers", model=str(M3E_SMALL), batch_size=8)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert (embedder.name, embedder.dim, embedder.batch_size) == (
        "sentence-transformers/m3e-small",
        512,
        8,
    )


@needs_m3e
def test_an_index_built_with_m3e_refuses_to_load_for_e5(
    m3e: SentenceTransformerEmbedder, embedder: Embedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 检索\n\nFAISS 是一个向量检索库。", encoding="utf-8")
    (docs / "b.txt").write_text("LoRA 在冻结的模型旁加入低秩矩阵。", encoding="utf-8")
    (docs / "c.txt").write_text("C-Eval 是一个中文评测基准。", encoding="utf-8")
    store = IndexStore(tmp_path / "indexes" / "default")
    report = build_index(
        [docs],
        store=store,
        embedder=m3e,
        chunking=ChunkingOptions(300, 60),
        max_file_bytes=100_000,
    )
    assert report.ok and len(report.added) == 3
    assert store.load(embedding_model=m3e.name, dim=m3e.dim).path.is_dir()
    with pytest.raises(IndexMismatchError, match="notesqa build --full") as info:
        store.load(embedding_model=embedder.name, dim=embedder.dim)
    assert "m3e-small" in str(info.value)


TEXTS = [
    "外挂知识库先把文件转换为文本。",
    "LoRA trains low-rank matrices next to frozen weights.",
    "C-Eval 提供了一万多道多项选择题。",
    "短",
    "检索增强生成把检索到的段落放进提示里。" * 20,
]


def test_e5_batches_give_the_same_vectors_as_one_by_one() -> None:
    e5 = E5Embedder(batch_size=2)  # 5 texts: batches of 2, 2 and 1
    together = e5.embed_documents(TEXTS)
    alone = np.stack([e5.embed_documents([t])[0] for t in TEXTS])
    assert together.shape == (len(TEXTS), e5.dim)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_e5_progress_counts_every_text(embedder: Embedder) -> None:
    seen: list[int] = []
    embedder.embed_documents(TEXTS * 4, progress=seen.append)  # 20 texts, batches of 16
    assert sum(seen) == 20
    assert seen == [16, 4]
    small: list[int] = []
    E5Embedder(batch_size=2).embed_documents(TEXTS, progress=small.append)
    assert small == [2, 2, 1]
