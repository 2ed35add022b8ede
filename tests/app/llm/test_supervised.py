"""The model in its supervised worker process: crashes cost one request, never the server.

Slow tests run the real default model in the worker behind a real uvicorn server; the
worker is killed for real (SIGKILL, as the OOM killer does). The start-failure tests
need no model load and run in the fast suite.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Server, sse_events

from app.llm import make_generator
from app.llm.base import GenerationRequest, Message, complete
from app.llm.supervised import SupervisedGenerator
from app.settings import LLMSettings, Settings

MODEL = Path(__file__).resolve().parents[3] / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ANSWERABLE = "外挂知识库的具体流程是什么？"


def _real(settings: Settings, **llm: Any) -> Settings:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is absent; run `make install`")
    update = {"backend": "llama_cpp", "model_path": str(MODEL), "max_new_tokens": 96} | llm
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=update)})


def _wait_status(url: str, want: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/readyz", timeout=5).json()
        if body.get("status") == want:
            return body
        time.sleep(0.05)
    raise AssertionError(f"/readyz never said {want!r}; last: {body}")


@pytest.mark.slow
def test_the_real_model_in_its_worker_answers_a_question(notes_settings: Settings) -> None:
    with Server(_real(notes_settings), None) as srv:
        generator = srv.app.state.library.models.generator
        assert isinstance(generator, SupervisedGenerator) and generator.pid != os.getpid()
        reply = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=300)
    assert reply.status_code == 200
    answer = reply.json()
    assert not answer["refused"], answer["answer"]
    assert answer["sources"][0]["source"] == "001_4466b67d58c97d80.txt"
    assert "文本" in answer["answer"] and "[1]" in answer["answer"]


@pytest.mark.slow
def test_sigkill_of_the_worker_mid_answer_costs_only_that_answer(
    notes_settings: Settings,
) -> None:
    with Server(_real(notes_settings, max_new_tokens=200), None) as srv:
        generator = srv.app.state.library.models.generator
        killed = generator.pid
        body = {"question": ANSWERABLE, "stream": True}
        text = ""
        with httpx.stream("POST", f"{srv.url}/api/ask", json=body, timeout=300) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            for line in lines:
                text += line + "\n"
                if line.startswith("event: token"):
                    os.kill(killed, signal.SIGKILL)
                    break
            text += "\n".join(lines)
        name, error = sse_events(text)[-1]
        assert name == "error", text
        assert error["error"]["code"] == "generator_crashed" and error["status"] == 503
        assert "SIGKILL" in error["error"]["message"]

        degraded = _wait_status(srv.url, "degraded", 2)
        assert "SIGKILL" in degraded["reason"] and degraded["error"]["message"]
        assert httpx.get(f"{srv.url}/healthz").status_code == 200  # the server is up
        search = httpx.post(f"{srv.url}/api/search", json={"query": "LoRA"}, timeout=30)
        assert search.status_code == 200  # retrieval never needed the worker

        _wait_status(srv.url, "ready", 60)
        assert generator.pid not in (None, killed) and generator.restarts == 1
        again = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=300)
    assert again.status_code == 200 and not again.json()["refused"]


@pytest.mark.slow
def test_cancel_stops_the_worker_and_the_next_request_gets_only_its_own_text() -> None:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is absent; run `make install`")
    generator = make_generator(LLMSettings(model_path=str(MODEL), max_new_tokens=300))
    assert isinstance(generator, SupervisedGenerator)
    try:
        cancel = threading.Event()
        long = GenerationRequest([Message("user", "请详细介绍一下深度学习的历史。")], cancel=cancel)
        pieces = []
        started = time.monotonic()
        for piece in generator.stream(long):
            pieces.append(piece)
            if len(pieces) == 5:
                cancel.set()
        assert len(pieces) <= 8 and time.monotonic() - started < 60
        # Counting answers while nothing else runs; the next answer is its own.
        assert generator.count_tokens("你好，世界") > 0
        short = GenerationRequest([Message("user", "只回答数字：1+1=?")], max_new_tokens=4)
        assert "2" in complete(generator, short)
    finally:
        generator.close()


@pytest.mark.parametrize(
    ("content", "reason"), [(None, "model file not found"), (b"not a gguf", "could not load")]
)
def test_a_worker_that_cannot_start_is_a_clear_503_not_a_hang(
    notes_settings: Settings, scripted: Any, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    model = tmp_path / "model.gguf"
    if content is not None:
        model.write_bytes(content)
    llm = notes_settings.llm.model_copy(update={"backend": "llama_cpp", "model_path": str(model)})
    settings = notes_settings.model_copy(update={"llm": llm})
    with Server(settings, None, wait=False) as srv:
        ready = _wait_status(srv.url, "degraded", 30)
        started = time.monotonic()
        ask = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=30)
        elapsed = time.monotonic() - started
        search = httpx.post(f"{srv.url}/api/search", json={"query": "LoRA"}, timeout=30)
    assert reason in ready["reason"] and ready["error"]["code"] == "model_unavailable"
    assert ask.status_code == 503 and ask.json()["error"]["code"] == "model_unavailable"
    assert reason in ask.json()["error"]["message"] and elapsed < 5
    assert search.status_code == 200
