"""Any OpenAI-compatible chat upstream (vLLM, llama.cpp's server, Ollama, OpenAI itself).

Plain ``httpx`` rather than the ``openai`` package: one POST and a server-sent-event
parser are all this needs, and every failure can be named with the upstream's address.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from app.llm.base import GenerationRequest, option_probabilities
from app.llm.prompts import estimate_tokens
from app.settings import LLMSettings
from ingest.errors import UpstreamError

log = logging.getLogger(__name__)

# Connecting should be quick even when generating is slow; a dead host then fails fast.
CONNECT_TIMEOUT = 10.0


class OpenAICompatGenerator:
    """Streams ``POST {base_url}/chat/completions`` with ``stream: true``."""

    writes_text = True
    # Verdicts come from the reply's ``logprobs`` (OpenAI, vLLM, llama.cpp's server); an
    # upstream that does not send them gives no verdict, and the answer goes on unjudged.
    judges = True

    def __init__(
        self, settings: LLMSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        upstream = settings.openai
        self._settings = settings
        self._base_url = upstream.base_url.rstrip("/")
        self._model = upstream.model
        self._timeout = upstream.timeout
        headers = {"Accept": "text/event-stream"}
        if upstream.api_key:
            headers["Authorization"] = f"Bearer {upstream.api_key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(upstream.timeout, connect=min(CONNECT_TIMEOUT, upstream.timeout)),
            transport=transport,
        )

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    @property
    def context_window(self) -> int:
        return self._settings.context_window

    def count_tokens(self, text: str) -> int:
        # The upstream's tokenizer is unknown here; an estimate is enough for budgeting.
        return estimate_tokens(text)

    def close(self) -> None:
        self._client.close()

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        """The options' probabilities from the first token's ``top_logprobs``."""
        body = {
            **self._body(request),
            "stream": False,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        try:
            response = self._client.post(f"{self._base_url}/chat/completions", json=body)
        except httpx.HTTPError as exc:
            log.warning("no verdict from the upstream at %s: %s", self._base_url, exc)
            return None
        if response.status_code >= 400:
            log.warning(
                "no verdict from the upstream at %s: HTTP %d: %s",
                self._base_url,
                response.status_code,
                _error_detail(response),
            )
            return None
        try:
            top = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            scores = {str(t["token"]).strip(): float(t["logprob"]) for t in top}
        except (ValueError, KeyError, IndexError, TypeError):
            log.warning("the upstream at %s sent no logprobs; no verdict", self._base_url)
            return None
        # A missing option is less likely than every listed token: give it the floor.
        floor = min(scores.values(), default=0.0) - 1.0
        chosen = [
            max((v for k, v in scores.items() if k and o.startswith(k)), default=floor)
            for o in options
        ]
        if all(c == floor for c in chosen):
            return None  # the model meant to say something else entirely
        return option_probabilities(chosen, range(len(chosen)))

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        url = f"{self._base_url}/chat/completions"
        try:
            with self._client.stream("POST", url, json=self._body(request)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise UpstreamError(
                        f"the upstream at {self._base_url} answered HTTP {response.status_code}: "
                        f"{_error_detail(response)}"
                    )
                content_type = response.headers.get("content-type", "")
                if content_type.startswith("application/json"):
                    # Some servers ignore "stream": true and send the whole reply at once.
                    response.read()
                    yield self._whole_reply(response)
                else:
                    for piece in self._events(response):
                        if request.cancelled:  # closing the response hangs up upstream
                            return
                        yield piece
        except httpx.TimeoutException as exc:
            raise UpstreamError(
                f"the upstream at {self._base_url} timed out (limit {self._timeout:g} s, "
                f"{type(exc).__name__}); raise llm.openai.timeout or check the server's load"
            ) from exc
        except httpx.ConnectError as exc:
            raise UpstreamError(
                f"cannot reach the upstream at {self._base_url} ({exc}); is the server running "
                "and is llm.openai.base_url right?"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the connection to the upstream at {self._base_url} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        settings = self._settings
        # Only the parameters every OpenAI-compatible server accepts: OpenAI itself rejects
        # unknown ones such as vLLM's repetition_penalty, so that setting is not sent.
        return {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "max_tokens": request.max_new_tokens or settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
        }

    def _events(self, response: httpx.Response) -> Iterator[str]:
        finished = False
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, "event:" names
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            event = self._parse(data)
            choices = event.get("choices") or []
            if not choices:
                continue  # e.g. a final usage-only event
            choice = choices[0]
            if not isinstance(choice, dict):
                raise self._malformed(data)
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if content:
                yield content
            finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise UpstreamError(
                f"the stream from {self._base_url} ended before the reply was finished "
                "(no finish_reason and no [DONE])"
            )

    def _parse(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise self._malformed(data) from None
        if not isinstance(event, dict):
            raise self._malformed(data)
        if "error" in event:
            raise UpstreamError(f"the upstream at {self._base_url} reported: {_message(event)}")
        return event

    def _whole_reply(self, response: httpx.Response) -> str:
        event = self._parse(response.text)
        try:
            content = event["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise self._malformed(response.text) from None
        if not isinstance(content, str):
            raise self._malformed(response.text)
        return content

    def _malformed(self, data: str) -> UpstreamError:
        return UpstreamError(
            f"the upstream at {self._base_url} sent a malformed reply: {data[:200]!r}"
        )


def _error_detail(response: httpx.Response) -> str:
    try:
        return _message(response.json())
    except ValueError:
        return response.text[:200] or response.reason_phrase


def _message(payload: Any) -> str:
    """The human part of an OpenAI-style error body, ``{"error": {"message": ...}}``."""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(payload, ensure_ascii=False)[:200]
