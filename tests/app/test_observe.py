"""Metrics, request ids and logs on a real uvicorn server; graceful shutdown of a real
`notesqa serve` process by SIGTERM in the middle of a streamed answer.

The shutdown test's model is a slow OpenAI-compatible upstream on loopback, started by
the test (one token every 0.2 s): a real HTTP server the `openai` backend streams from,
standing in for a model that is still writing when the signal comes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import ROOT, Server, ServerProcess, metric, sse_events
from pydantic import SecretStr

from app.settings import Settings

ANSWERABLE = "外挂知识库的具体流程是什么？"
OFF_TOPIC = "FlashAttention 是如何减少显存读写的？"
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"


@pytest.fixture
def server(notes_settings: Settings, scripted: Any) -> Iterator[Server]:
    scripted.reply = GROUNDED
    settings = notes_settings.model_copy(update={"api_key": SecretStr("k")})
    with Server(settings, scripted) as srv:
        yield srv


def test_metrics_count_requests_stages_refusals_and_indexes(server: Server) -> None:
    key = {"Authorization": "Bearer k"}
    httpx.post(f"{server.url}/api/search", json={"query": "LoRA"}, headers=key)
    httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, headers=key, timeout=60)
    httpx.post(f"{server.url}/api/ask", json={"question": OFF_TOPIC}, headers=key, timeout=60)
    httpx.get(f"{server.url}/api/kbs/nope/documents", headers=key)
    # A request is counted when its response has been sent: the client can be first.
    deadline = time.monotonic() + 10
    while True:
        reply = httpx.get(f"{server.url}/metrics")  # open without the key
        text = reply.text
        if 'status="404"' in text or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    ask = {"route": "/api/ask", "method": "POST", "status": "200"}
    assert metric(text, "notesqa_requests_total", **ask) == 2
    missing = {"route": "/api/kbs/{name}/documents", "status": "404"}
    assert metric(text, "notesqa_requests_total", **missing) == 1  # the template, not the path
    assert metric(text, "notesqa_request_seconds_count", route="/api/search") == 1
    assert metric(text, "notesqa_refusals_total", stage="retrieval") == 1
    assert metric(text, "notesqa_answers_total") == 2
    assert metric(text, "notesqa_answer_stage_seconds_count", stage="retrieve") == 2
    assert metric(text, "notesqa_answer_stage_seconds_count", stage="generate_first_token") == 1
    assert metric(text, "notesqa_queue_wait_seconds_count") == 2
    assert metric(text, "notesqa_generated_pieces_total") > 3
    assert metric(text, "notesqa_index_chunks", kb="default") == 143
    assert metric(text, "notesqa_index_documents", kb="default") == 5
    assert metric(text, "notesqa_queue_depth") == 0
    assert metric(text, "notesqa_model_worker_restarts_total") == 0


def test_request_ids_and_log_lines(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notesqa.requests")
    key = {"Authorization": "Bearer k"}
    mine = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "trace-42"})
    assert mine.headers["x-request-id"] == "trace-42"
    made = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "a/b<script>" * 10})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "trace-42"
    httpx.post(f"{server.url}/api/ask", json={"question": OFF_TOPIC}, headers=key, timeout=60)
    # The line is written when the response has been sent: the client can be first.
    deadline = time.monotonic() + 10
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == "notesqa.requests"]
        asked = next((line for line in lines if "route=/api/ask" in line), None)
        if asked is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert any(line.startswith("request_id=trace-42 ") for line in lines)
    assert asked is not None, lines
    assert "status=200" in asked and "refusal=retrieval" in asked and "kb=default" in asked
    assert "FlashAttention" not in " ".join(lines)  # no question text by default
    assert "Bearer" not in " ".join(lines)


def test_json_log_lines_with_questions_when_asked(
    notes_settings: Settings, scripted: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notesqa.requests")
    server = notes_settings.server.model_copy(update={"log_format": "json", "log_questions": True})
    with Server(notes_settings.model_copy(update={"server": server}), scripted) as srv:
        httpx.post(f"{srv.url}/api/ask", json={"question": OFF_TOPIC}, timeout=60)
        time.sleep(0.5)  # the line is written just after the response is sent
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "notesqa.requests"]
    asked = next(line for line in lines if line["route"] == "/api/ask")
    assert asked["question"] == OFF_TOPIC and asked["refusal"] == "retrieval"
    assert asked["status"] == 200 and asked["seconds"] > 0


class SlowUpstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible model that writes one token every 0.2 s, for a minute."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not body.get("stream"):  # the verdict: no logprobs, so no verdict
            data = json.dumps({"choices": [{"message": {"content": "Yes"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for _ in range(300):
                chunk = {"choices": [{"delta": {"content": "知识"}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


def test_sigterm_mid_stream_ends_it_with_an_error_and_exits(
    notes_index_dir: Path, tmp_path: Path
) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), SlowUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    env = {
        "NOTESQA_INDEX_DIR": str(notes_index_dir),
        "NOTESQA_LLM__BACKEND": "openai",
        "NOTESQA_LLM__OPENAI__BASE_URL": f"http://127.0.0.1:{upstream.server_port}/v1",
    }
    server = ServerProcess(env, config=ROOT / "configs" / "test.yaml", log=tmp_path / "log")
    try:
        server.start()
        assert server.process is not None
        body = {"question": ANSWERABLE, "stream": True}
        with httpx.stream("POST", f"{server.url}/api/ask", json=body, timeout=60) as response:
            chunks = response.iter_text()
            first = ""
            while "event: token" not in first:  # stage events come first: wait for words
                first += next(chunks)
            os.kill(server.process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            rest = "".join(chunks)
        events = sse_events(first + rest)
        name, data = events[-1]
        assert name == "error" and data["error"]["code"] == "shutting_down", events[-3:]
        server.process.wait(timeout=10)
        assert time.monotonic() - signalled < 10
    finally:
        server.kill()
        upstream.shutdown()
        upstream.server_close()
