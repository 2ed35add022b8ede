"""No request can hold the generation slot after its client left, on a real server.

The generator is the scripted fake (it honours ``request.cancel`` as the real backends
do); the server, the gate and the HTTP connections are real. ``gate.load`` is the
number of questions waiting or running: back to 0 means the slot and queue place were
given back.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from live import Server

from app.settings import Settings

ANSWERABLE = "外挂知识库的具体流程是什么？"
UNANSWERABLE = "FlashAttention 是如何减少显存读写的？"
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"
STREAMS = [
    ("/api/ask", {"question": ANSWERABLE, "stream": True}),
    (
        "/v1/chat/completions",
        {"model": "notesqa", "messages": [{"role": "user", "content": ANSWERABLE}], "stream": True},
    ),
]


def _settings(settings: Settings, **server: Any) -> Settings:
    return settings.model_copy(update={"server": settings.server.model_copy(update=server)})


def _wait(predicate: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _hang_up_after(url: str, path: str, body: dict[str, Any], seconds: float) -> None:
    """Send the request, then close the connection after ``seconds`` (curl -m)."""
    with contextlib.suppress(httpx.TimeoutException):
        httpx.post(f"{url}{path}", json=body, timeout=seconds)


@pytest.mark.parametrize(("path", "body"), STREAMS)
def test_hang_up_before_the_first_byte_frees_the_slot(
    notes_settings: Settings, scripted: Any, path: str, body: dict[str, Any]
) -> None:
    # The model "reads the prompt" until the gate opens: no byte is sent before the client
    # (like `curl -N -m 0.05`) hangs up. On 4b2908d this leaked the slot for good.
    scripted.reply = GROUNDED
    scripted.gate = threading.Event()
    with Server(_settings(notes_settings, queue_size=0), scripted) as srv:
        gate = srv.app.state.gate
        _hang_up_after(srv.url, path, body, 0.3)
        assert _wait(lambda: gate.load == 0), "the slot was not given back"
        assert scripted.stopped == 1  # the model was told to stop
        scripted.gate.set()
        ask = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=30)
    assert ask.status_code == 200 and ask.json()["answer"] == GROUNDED


def test_a_queued_request_whose_client_left_leaves_the_queue(
    notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED
    scripted.gate = threading.Event()
    with Server(_settings(notes_settings, queue_size=1), scripted) as srv:
        gate = srv.app.state.gate
        first: dict[str, Any] = {}
        running = threading.Thread(
            target=lambda: first.update(
                r=httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=60)
            )
        )
        running.start()
        assert _wait(lambda: gate.load == 1 and scripted.requests)
        _hang_up_after(srv.url, "/api/ask", {"question": ANSWERABLE}, 0.5)  # waits, leaves
        assert _wait(lambda: gate.load == 1), "the queued request did not leave the queue"
        # Its place is free: a new question is queued, not refused with 503.
        third: dict[str, Any] = {}
        queued = threading.Thread(
            target=lambda: third.update(
                r=httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=60)
            )
        )
        queued.start()
        assert _wait(lambda: gate.load == 2)
        scripted.gate.set()
        running.join(60)
        queued.join(60)
    assert first["r"].status_code == 200 and third["r"].status_code == 200
    assert len(scripted.requests) == 2  # the one that left never reached the model


def test_a_non_streaming_ask_whose_client_left_stops_generating(
    notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED * 100  # about 60 s of generation
    scripted.delay = 0.05
    with Server(_settings(notes_settings, queue_size=0), scripted) as srv:
        gate = srv.app.state.gate
        for path, body in [
            ("/api/ask", {"question": ANSWERABLE}),
            ("/v1/chat/completions", {"model": "notesqa", "messages": STREAMS[1][1]["messages"]}),
        ]:
            before = scripted.stopped
            _hang_up_after(srv.url, path, body, 1.0)
            assert _wait(lambda: gate.load == 0, 3), f"{path}: the slot was not given back"
            assert scripted.stopped == before + 1, f"{path}: the model kept generating"


def test_waiting_too_long_in_the_queue_is_503_with_retry_after(
    notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED
    scripted.gate = threading.Event()
    with Server(_settings(notes_settings, queue_size=1, queue_timeout=0.5), scripted) as srv:
        first: dict[str, Any] = {}
        running = threading.Thread(
            target=lambda: first.update(
                r=httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=60)
            )
        )
        running.start()
        assert _wait(lambda: bool(scripted.requests))
        started = time.monotonic()
        waited = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=30)
        elapsed = time.monotonic() - started
        scripted.gate.set()
        running.join(60)
    assert waited.status_code == 503 and waited.headers["retry-after"] == "10"
    assert (
        waited.json()["error"]["code"] == "busy" and "waited" in waited.json()["error"]["message"]
    )
    assert 0.4 < elapsed < 5
    assert first["r"].status_code == 200


def test_a_raw_socket_closed_right_after_the_request_frees_the_slot(
    notes_settings: Settings, scripted: Any
) -> None:
    # The bluntest hang-up: the request bytes, then close, without reading anything.
    scripted.reply = GROUNDED * 50
    scripted.delay = 0.02
    with Server(_settings(notes_settings, queue_size=0), scripted) as srv:
        gate = srv.app.state.gate
        body = b'{"question": "%s", "stream": true}' % ANSWERABLE.encode()
        head = (
            f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(head + body)
        assert _wait(lambda: gate.load == 0), "the slot was not given back"
        ask = httpx.post(f"{srv.url}/api/ask", json={"question": UNANSWERABLE}, timeout=30)
    assert ask.status_code == 200
