"""Every bound on a request, hit over HTTP on a real uvicorn server, answered with its
documented status and the error body (scripted generator, real model and index)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kb_server import AUTH, TOKEN
from live import Server, sse_events
from pydantic import SecretStr

from app.settings import Settings

QUESTION = "外挂知识库的具体流程是什么？"
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"


def limited(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})


@pytest.fixture
def server(notes_settings: Settings, scripted: Any) -> Iterator[Server]:
    scripted.reply = GROUNDED
    settings = limited(
        notes_settings,
        max_history_messages=4,
        max_message_chars=100,
        max_history_chars=150,
        max_body_kb=16,
    ).model_copy(update={"admin_token": SecretStr(TOKEN)})  # POST /api/kbs reaches its body
    with Server(settings, scripted) as srv:
        yield srv


def error(reply: httpx.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return str(body["error"]["code"])


def turns(n: int, size: int) -> list[dict[str, str]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "问" * size} for i in range(n)
    ]


def chat(history: list[dict[str, str]], question: str = QUESTION) -> dict[str, Any]:
    return {"model": "notesqa", "messages": [*history, {"role": "user", "content": question}]}


def test_history_bounds_on_both_apis(server: Server, scripted: Any) -> None:
    url = server.url
    cases = [turns(5, 10), turns(1, 101), turns(2, 80)]  # turns, one message, total
    for history in cases:
        native = httpx.post(f"{url}/api/ask", json={"question": QUESTION, "history": history})
        assert error(native, 413) == "too_large"
        openai = httpx.post(f"{url}/v1/chat/completions", json=chat(history))
        assert error(openai, 413) == "too_large"
    assert scripted.requests == []  # refused before any model call
    ok = httpx.post(f"{url}/api/ask", json={"question": QUESTION, "history": turns(2, 50)})
    assert ok.status_code == 200


def test_question_top_k_and_body_bounds(server: Server) -> None:
    url = server.url
    long_question = httpx.post(f"{url}/v1/chat/completions", json=chat([], "问" * 2001))
    assert error(long_question, 413) == "too_large"
    # answer.max_question_chars decides on /api/ask too, not a cap in the schema (a 422).
    long_question = httpx.post(f"{url}/api/ask", json={"question": "问" * 2001})
    assert error(long_question, 413) == "too_large"
    assert error(httpx.post(f"{url}/api/search", json={"query": "x", "top_k": 51}), 422)
    assert error(httpx.post(f"{url}/api/ask", json={"question": "x", "top_k": 21}), 422)
    big = {"question": QUESTION, "history": turns(1, 20_000)}
    assert error(httpx.post(f"{url}/api/ask", json=big), 413) == "too_large"  # > 16 KB

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"query": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    reply = httpx.post(
        f"{url}/api/search", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert error(reply, 413) == "too_large"


def test_text_that_is_not_unicode_is_422(server: Server) -> None:
    raw = '{"model": "notesqa", "messages": [{"role": "user", "content": "\\ud800 LoRA"}]}'
    headers = {"Content-Type": "application/json"}
    reply = httpx.post(f"{server.url}/v1/chat/completions", content=raw, headers=headers)
    assert error(reply, 422) == "invalid_text"
    raw = '{"query": "LoRA \\udfff"}'
    assert error(httpx.post(f"{server.url}/api/search", content=raw, headers=headers), 422)
    raw = '{"question": "LoRA \\ud800?"}'
    assert error(httpx.post(f"{server.url}/api/ask", content=raw, headers=headers), 422)


SURROGATES = [  # raw bodies: the JSON escape of a lone surrogate, in a key or a value
    ("/api/search", '{"query": "LoRA", "\\ud800": 1}'),
    ("/api/search", '{"query": "LoRA", "kb": "\\ud800"}'),
    ("/api/search", '{"query": "LoRA", "sources": ["\\udfff.txt"]}'),
    ("/api/ask", '{"question": "LoRA", "\\ud800": 1}'),
    ("/api/ask", '{"question": "LoRA", "kb": "de\\ud800fault"}'),
    ("/api/ask", '{"question": "LoRA", "history": [{"role": "user", "\\ud800": "x"}]}'),
    ("/api/kbs", '{"name": "proj", "\\ud800": 1}'),
    ("/api/kbs", '{"name": "\\ud800"}'),
    ("/v1/chat/completions", '{"model": "notesqa", "messages": [], "\\ud800": 1}'),
    ("/v1/chat/completions", '{"model": "notesqa\\ud800", "messages": [{"role": "user"}]}'),
    ("/v1/chat/completions", '{"model": "notesqa", "user": "\\ud800", "messages": []}'),
]


def test_a_lone_surrogate_anywhere_in_a_body_is_422(server: Server) -> None:
    headers = AUTH | {"Content-Type": "application/json"}
    for path, raw in SURROGATES:
        reply = httpx.post(server.url + path, content=raw.encode("ascii"), headers=headers)
        assert reply.status_code == 422, (path, raw, reply.status_code, reply.text)
        assert error(reply, 422) == "invalid_text", raw
        assert "Unicode" in reply.json()["error"]["message"]


def test_the_settings_decide_question_and_history_lengths(
    notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED
    answer = notes_settings.answer.model_copy(update={"max_question_chars": 3000})
    settings = limited(
        notes_settings, max_message_chars=30_000, max_history_chars=30_000, max_history_messages=200
    ).model_copy(update={"answer": answer})
    with Server(settings, scripted) as srv:
        url = f"{srv.url}/api/ask"
        assert error(httpx.post(url, json={"question": "问" * 3001}), 413) == "too_large"
        # Past what the schema once capped: 2000 characters, 20,000 a turn, 50 and 100 turns.
        longer = httpx.post(url, json={"question": "问" * 2500}, timeout=60)
        assert longer.status_code == 200, longer.text
        big_turn = [{"role": "assistant", "content": "答" * 21_000}]
        reply = httpx.post(url, json={"question": QUESTION, "history": big_turn}, timeout=60)
        assert reply.status_code == 200, reply.text
        many = turns(120, 5)
        reply = httpx.post(url, json={"question": QUESTION, "history": many}, timeout=60)
        assert reply.status_code == 200, reply.text
        chat_reply = httpx.post(f"{srv.url}/v1/chat/completions", json=chat(many), timeout=60)
        assert chat_reply.status_code == 200, chat_reply.text


def test_rate_limit_per_key(notes_settings: Settings, scripted: Any) -> None:
    scripted.reply = GROUNDED
    settings = limited(notes_settings, rate_per_minute=6, rate_burst=2)
    with Server(settings, scripted) as srv:
        body = {"question": QUESTION}
        a = {"Authorization": "Bearer a"}
        for _ in range(2):
            assert httpx.post(f"{srv.url}/api/ask", json=body, headers=a).status_code == 200
        third = httpx.post(f"{srv.url}/api/ask", json=body, headers=a)
        assert error(third, 429) == "rate_limited"
        assert 1 <= int(third.headers["retry-after"]) <= 10
        chat_reply = httpx.post(f"{srv.url}/v1/chat/completions", json=chat([]), headers=a)
        assert error(chat_reply, 429) == "rate_limited"
        # Another client has its own bucket; search is not rate limited.
        b = {"Authorization": "Bearer b"}
        assert httpx.post(f"{srv.url}/api/ask", json=body, headers=b).status_code == 200
        search = httpx.post(f"{srv.url}/api/search", json={"query": "LoRA"}, headers=a)
        assert search.status_code == 200


def test_an_answer_past_its_time_limit_ends_with_an_error_event(
    notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED * 20
    scripted.delay = 0.1  # seconds a piece: the answer would take about 20 s
    with Server(limited(notes_settings, generation_seconds=1.5), scripted) as srv:
        started = time.monotonic()
        body = {"question": QUESTION, "stream": True}
        with httpx.stream("POST", f"{srv.url}/api/ask", json=body, timeout=60) as response:
            events = sse_events(response.read().decode())
        assert time.monotonic() - started < 10
        name, data = events[-1]
        assert name == "error" and data["error"]["code"] == "time_limit"
        assert any(name == "token" for name, _ in events)
        assert scripted.stopped >= 1  # the model was stopped, not left running
        scripted.delay = 0.0
        scripted.reply = GROUNDED
        again = httpx.post(f"{srv.url}/api/ask", json={"question": QUESTION}, timeout=60)
        assert again.status_code == 200  # the slot was freed
