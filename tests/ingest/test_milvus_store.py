"""Vectors in Milvus Lite (embedded Milvus, started by the tests themselves; no server).

The shared store suite (tests/ingest/test_build.py: incremental rebuild, delete, a failed
or killed build leaving the previous version serving, model mismatch) runs on FAISS and
on Milvus Lite. These are what only the Milvus backend has: a collection per version,
dropped with it; a failed or killed build's collection removed; a missing collection
passed over; source filters as filter expressions; one process per Lite file, said
clearly; and FAISS versions serving on across a switch of backend. Real e5 model.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from building import build, collections_of, named_collections
from live import Server
from typer.testing import CliRunner

import ingest.milvus_client as milvus_client
import ingest.milvus_store as milvus_store
import ingest.store
from app.cli import app
from app.settings import StoreSettings, load_settings
from ingest.embed import Embedder
from ingest.errors import StoreUnavailableError
from ingest.keyword import KeywordIndex
from ingest.milvus_client import client_for
from ingest.milvus_store import MilvusStore
from ingest.store import IndexStore
from ingest.vector_store import MilvusOptions, StoreOptions

ROOT = Path(__file__).resolve().parents[2]
TEST_CONFIG = ROOT / "configs" / "test.yaml"
LORA = "# 微调\n\nLoRA 在冻结的权重旁加入低秩矩阵，只训练很少的参数。"
RAG = "# 检索\n\nRAG 先检索相关段落，再让模型根据段落回答问题。"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(LORA, encoding="utf-8")
    (folder / "b.md").write_text(RAG, encoding="utf-8")
    return folder


@pytest.fixture
def options(milvus_uri: str) -> StoreOptions:
    return StoreOptions(backend="milvus", milvus=MilvusOptions(uri=milvus_uri))


@pytest.fixture
def store(tmp_path: Path, options: StoreOptions) -> IndexStore:
    return IndexStore(tmp_path / "indexes" / "t", options=options)


def _as_a_new_process_sees_it() -> None:
    """Forget which versions were found intact (a restarted server asks again)."""
    ingest.store._VECTORS_OK.clear()
    milvus_client.verified.clear()


def test_each_version_is_a_collection_and_pruning_drops_it(
    docs: Path, store: IndexStore, embedder: Embedder, milvus_uri: str
) -> None:
    first = build(store, embedder, docs).version
    collection = named_collections(store)
    (docs / "c.md").write_text("# 评估\n\nC-Eval 有一万多道选择题。", encoding="utf-8")
    time.sleep(1.1)  # version names carry the second
    build(store, embedder, docs)
    assert len(collections_of(store)) == 2
    time.sleep(1.1)
    (docs / "b.md").unlink()
    report = build(store, embedder, docs)
    assert report.removed == ["b.md"]
    # Two versions kept (the current and the one before), each with its collection.
    assert not (store.root / first).exists()
    assert collections_of(store) == named_collections(store) and len(collections_of(store)) == 2
    assert not collection & collections_of(store)
    # The rows hold the chunk as well as its vector: the collection reads on its own.
    manifest = store.load().manifest
    assert manifest.vector_store["backend"] == "milvus"
    assert manifest.vector_store["uri"] == milvus_uri
    rows = client_for(MilvusOptions(uri=milvus_uri)).query(
        manifest.vector_store["collection"],
        filter='source == "a.md"',
        output_fields=["text", "heading", "chunk_id", "page", "origin"],
    )
    assert [(r["heading"], r["page"], r["origin"]) for r in rows] == [("微调", -1, "text")]
    assert "低秩矩阵" in rows[0]["text"]


def test_deleting_an_index_drops_its_collections(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    build(store, embedder, docs)
    time.sleep(1.1)
    (docs / "c.md").write_text("# 评估\n\nC-Eval 有一万多道选择题。", encoding="utf-8")
    build(store, embedder, docs)
    assert len(collections_of(store)) == 2
    with store.lock():  # as deleting a knowledge base does (app.library)
        store.remove()
    assert not store.root.exists()
    assert collections_of(store) == set()


def test_a_failed_build_drops_its_collection_and_the_previous_one_serves(
    docs: Path, store: IndexStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(store, embedder, docs)
    version, before = store.current_path(), collections_of(store)
    (docs / "a.md").write_text(LORA + "改动。", encoding="utf-8")

    def fail(self: KeywordIndex, folder: Path) -> None:
        raise OSError("disk full")  # after the vectors are in Milvus

    monkeypatch.setattr(KeywordIndex, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        build(store, embedder, docs)
    assert store.current_path() == version and collections_of(store) == before
    [(row, _)] = store.load().search(embedder.embed_query("LoRA 加入了什么？"), 1)
    assert store.load().chunks([row])[0].source == "a.md"


def test_a_collection_no_version_names_is_dropped_by_the_next_build(
    tmp_path: Path, docs: Path, store: IndexStore, embedder: Embedder, options: StoreOptions
) -> None:
    build(store, embedder, docs)
    client = client_for(options.milvus)  # type: ignore[arg-type]
    mine = MilvusStore(options, index_root=store.root).scope + "killedbuild0"
    other = MilvusStore(options, index_root=tmp_path / "indexes" / "other").scope + "keep"
    for name in (mine, other):  # as a build killed after writing its vectors leaves them
        client.create_collection(name, dimension=4)
    (docs / "c.md").write_text("# 评估\n\nC-Eval 有一万多道选择题。", encoding="utf-8")
    build(store, embedder, docs)
    names = set(client.list_collections())
    assert mine not in names and other in names  # another index's collections are its own
    assert collections_of(store) == named_collections(store)
    client.drop_collection(other)


def test_a_missing_collection_is_passed_over_and_a_dropped_one_is_a_clear_error(
    docs: Path, store: IndexStore, embedder: Embedder, options: StoreOptions
) -> None:
    first = build(store, embedder, docs).version
    time.sleep(1.1)
    (docs / "c.md").write_text("# 评估\n\nC-Eval 有一万多道选择题。", encoding="utf-8")
    second = build(store, embedder, docs).version
    loaded = store.load()
    client = client_for(options.milvus)  # type: ignore[arg-type]
    client.drop_collection(loaded.manifest.vector_store["collection"])
    # The server that had it open: its next search says what is wrong, as a 503 would.
    with pytest.raises(StoreUnavailableError, match="Milvus at"):
        loaded.search(embedder.embed_query("LoRA"), 1)
    _as_a_new_process_sees_it()
    path, problems = store.serving()
    assert path == store.root / first
    assert f"version {second}" in problems[0] and "Milvus collection" in problems[0]
    assert sorted(store.load().manifest.documents) == ["a.md", "b.md"]


def test_source_filters_are_milvus_filter_expressions(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    docs = tmp_path / "named"
    docs.mkdir()
    names = ['引号"与\\斜杠.md', "中文笔记.md", "plain.md"]
    for name, text in zip(names, [LORA, RAG, LORA.replace("LoRA", "QLoRA")], strict=True):
        (docs / name).write_text(text, encoding="utf-8")
    build(store, embedder, docs)
    index = store.load()
    query = embedder.embed_query("LoRA 加入了什么？")
    for name in names:
        rows = [row for row, _ in index.rows_of(name)]
        hits = index.search(query, 3, allowed=rows, sources=[name])
        assert hits and {index.chunks([r])[0].source for r, _ in hits} == {name}
    assert milvus_store._filter([1], ['a"b.md']) == 'source in ["a\\"b.md"]'
    assert milvus_store._filter([1, 2], ["bell\x07.md"]) == "row in [1, 2]"  # not a literal


def test_a_lite_file_open_in_another_process_is_a_clear_error(tmp_path: Path, docs: Path) -> None:
    uri = str(tmp_path / "held" / "milvus.db")
    (tmp_path / "held").mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pymilvus import MilvusClient; "
            f"MilvusClient({uri!r}); print('open', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        result = CliRunner().invoke(
            app,
            ["build", str(docs), "--config", str(TEST_CONFIG)],
            env={"NOTESQA_STORE__BACKEND": "milvus", "NOTESQA_STORE__MILVUS_URI": uri},
        )
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert lines[-1].startswith("error: cannot open the Milvus Lite file")
        assert "one process at a time" in lines[-1] and "Traceback" not in result.output
    finally:
        holder.kill()
        holder.communicate()


def test_an_unreachable_milvus_server_is_one_clear_line(docs: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["build", str(docs), "--config", str(TEST_CONFIG)],
        env={"NOTESQA_STORE__BACKEND": "milvus", "NOTESQA_STORE__MILVUS_URI": "http://127.0.0.1:9"},
    )
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach Milvus at http://127.0.0.1:9")


class Counting:
    def __init__(self, inner: Embedder) -> None:
        self.inner, self.count = inner, 0
        self.name, self.dim = inner.name, inner.dim

    def embed_documents(self, texts: list[str], *, progress: Any = None) -> Any:
        self.count += len(texts)
        return self.inner.embed_documents(texts, progress=progress)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)


def test_switching_backend_keeps_serving_and_reuses_the_vectors(
    tmp_path: Path, docs: Path, embedder: Embedder, options: StoreOptions
) -> None:
    root = tmp_path / "indexes" / "t"
    build(IndexStore(root), embedder, docs)  # FAISS
    to_milvus = IndexStore(root, options=options)
    assert to_milvus.load().manifest.vector_store == {"backend": "faiss"}  # serves on
    counting = Counting(embedder)
    report = build(to_milvus, counting, docs)  # type: ignore[arg-type]
    assert counting.count == 0 and sorted(report.unchanged) == ["a.md", "b.md"]
    assert to_milvus.load().manifest.vector_store["backend"] == "milvus"
    # And back: the Milvus version serves a FAISS-configured store until its next build.
    back = IndexStore(root, options=StoreOptions(milvus=options.milvus))
    index = back.load()
    [(row, _)] = index.search(embedder.embed_query("RAG 先做什么？"), 1)
    assert index.chunks([row])[0].source == "b.md"


def test_cli_and_api_on_milvus(
    tmp_path: Path, docs: Path, milvus_uri: str, scripted: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`notesqa build/search/info` and a real uvicorn server, configured by settings alone."""
    monkeypatch.setenv("NOTESQA_STORE__BACKEND", "milvus")
    monkeypatch.setenv("NOTESQA_STORE__MILVUS_URI", milvus_uri)
    runner = CliRunner()
    config = ["--config", str(TEST_CONFIG)]
    built = runner.invoke(app, ["build", str(docs), *config])
    assert built.exit_code == 0, built.output
    info = runner.invoke(app, ["info", *config])
    assert info.exit_code == 0 and "Milvus collection notesqa_default_" in info.output
    found = runner.invoke(app, ["search", "低秩矩阵", "--source", "b.md", "--json", *config])
    assert found.exit_code == 0, found.output
    assert '"b.md"' in found.output and '"a.md"' not in found.output

    settings = load_settings(TEST_CONFIG)
    assert settings.store == StoreSettings(backend="milvus", milvus_uri=milvus_uri)
    scripted.reply = "LoRA 在冻结的权重旁加入低秩矩阵[1]。"
    with Server(settings, scripted) as server:
        body = {"query": "LoRA 加入了什么？", "sources": ["a.md"]}
        hits = httpx.post(f"{server.url}/api/search", json=body, timeout=60).json()["hits"]
        assert hits and {h["source"] for h in hits} == {"a.md"}
        reply = httpx.post(
            f"{server.url}/api/ask", json={"question": "LoRA 加入了什么？"}, timeout=60
        ).json()
        assert reply["refused"] is False and reply["sources"][0]["source"] == "a.md"


def test_a_manifest_never_records_credentials_in_the_uri() -> None:
    assert milvus_client.public_uri("https://user:secret@milvus.example:19530/db") == (
        "https://milvus.example:19530/db"
    )
    assert milvus_client.public_uri("/srv/indexes/milvus.db") == "/srv/indexes/milvus.db"
