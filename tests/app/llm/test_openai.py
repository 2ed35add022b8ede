"""The OpenAI-compatible backend against ``httpx.MockTransport``.

The MockTransport is a fake upstream: no real OpenAI-compatible server (vLLM, llama.cpp's
server) runs in the test environment, so each test scripts the bytes such a server sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.llm import make_generator
from app.llm.base import GenerationRequest, Message, complete
from app.llm.openai_compat import OpenAICompatGenerator
from app.settings import LLMSettings, OpenAISettings
from ingest.errors import UpstreamError

BASE_URL = "http://upstream.test:8080/v1"
REQUEST = GenerationRequest(messages=[Message("system", "Be brief."), Message("user", "你好")])


def _settings(**openai: Any) -> LLMSettings:
    upstream = OpenAISettings(base_url=BASE_URL, model="qwen", timeout=5, **openai)
    return LLMSettings(backend="openai", max_new_tokens=32, openai=upstream)


def _generator(handler: Callable[[httpx.Request], httpx.Response], **openai: Any) -> Any:
    return OpenAICompatGenerator(_settings(**openai), transport=httpx.MockTransport(handler))


def _sse(*events: dict[str, Any] | str) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return "".join(lines).encode()


def _delta(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _stream_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def test_streams_the_deltas_and_sends_an_openai_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = b": keep-alive\n\n" + _sse(
            _delta(None),  # the role-only first event servers send
            _delta("你"),
            _delta("好！"),
            _delta(None, "stop"),
            "[DONE]",
        )
        return _stream_response(body)

    generator = _generator(handler, api_key="sk-test")
    assert list(generator.stream(REQUEST)) == ["你", "好！"]
    (request,) = seen
    assert str(request.url) == f"{BASE_URL}/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["stream"] is True
    assert body["model"] == "qwen"
    assert body["max_tokens"] == 32
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "你好"},
    ]


def test_made_by_the_factory() -> None:
    generator = make_generator(_settings())
    assert generator.name == "openai:qwen"
    assert generator.count_tokens("你好 world") == 2 + 2


def test_a_reply_sent_whole_as_json_is_accepted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "整段回答"}}]})

    assert complete(_generator(handler), REQUEST) == "整段回答"


def test_upstream_down_names_the_base_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(UpstreamError, match=r"cannot reach the upstream at http://upstream\.test"):
        complete(_generator(handler), REQUEST)


def test_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(UpstreamError, match=r"upstream.test:8080/v1 timed out \(limit 5 s"):
        complete(_generator(handler), REQUEST)


def test_http_500_carries_the_upstream_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "CUDA out of memory"}})

    with pytest.raises(UpstreamError, match="answered HTTP 500: CUDA out of memory") as info:
        complete(_generator(handler), REQUEST)
    assert BASE_URL in str(info.value)


def test_malformed_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _stream_response(_sse(_delta("ok")) + b"data: {not json\n\n")

    with pytest.raises(UpstreamError, match="malformed reply"):
        complete(_generator(handler), REQUEST)


def test_error_event_mid_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _stream_response(_sse(_delta("ok"), {"error": {"message": "model crashed"}}))

    with pytest.raises(UpstreamError, match="reported: model crashed"):
        complete(_generator(handler), REQUEST)


def test_a_stream_cut_short_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _stream_response(_sse(_delta("half an ans")))

    with pytest.raises(UpstreamError, match="ended before the reply was finished"):
        complete(_generator(handler), REQUEST)


def test_finish_reason_without_done_is_complete() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _stream_response(_sse(_delta("done"), _delta(None, "length")))

    assert complete(_generator(handler), REQUEST) == "done"


def test_the_verdict_comes_from_the_first_tokens_logprobs() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        top = [
            {"token": "Yes", "logprob": -0.2231},  # p = 0.8
            {"token": " No", "logprob": -1.6094},  # p = 0.2
            {"token": "The", "logprob": -5.0},
        ]
        content = [{"token": "Yes", "logprob": -0.2231, "top_logprobs": top}]
        choice = {"message": {"content": "Yes"}, "logprobs": {"content": content}}
        return httpx.Response(200, json={"choices": [choice]})

    probabilities = _generator(handler).judge(REQUEST, ["Yes", "No"])
    assert probabilities == pytest.approx([0.8, 0.2], abs=1e-3)
    body = seen[0]
    assert body["stream"] is False and body["max_tokens"] == 1 and body["logprobs"] is True
    assert body["messages"][-1] == {"role": "user", "content": "你好"}


def test_no_verdict_from_an_upstream_without_logprobs() -> None:
    def plain(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "Yes"}}]})

    def refuses(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "logprobs is not supported"}})

    def elsewhere(request: httpx.Request) -> httpx.Response:
        top = [{"token": "Sure", "logprob": -0.1}]
        content = [{"token": "Sure", "logprob": -0.1, "top_logprobs": top}]
        return httpx.Response(200, json={"choices": [{"logprobs": {"content": content}}]})

    for handler in (plain, refuses, elsewhere):
        assert _generator(handler).judge(REQUEST, ["Yes", "No"]) is None
