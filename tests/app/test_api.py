"""The HTTP API on a real uvicorn server on a free loopback port.

The generator is the scripted fake from conftest (generation with the real model is
covered by the slow tests); everything else is real: model, index, FastAPI, uvicorn.
"""

from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live import Server, sse_events

from app.lang import refusal
from app.llm.base import GenerationRequest
from app.settings import Settings

ANSWERABLE = "外挂知识库的具体流程是什么？"
UNANSWERABLE = "FlashAttention 是如何减少显存读写的？"
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"


@pytest.fixture
def server(notes_settings: Settings, scripted: Any) -> Iterator[Server]:
    scripted.reply = GROUNDED
    with Server(notes_settings, scripted) as srv:
        yield srv


def test_ask_json_answer_with_checked_sources(server: Server, scripted: Any) -> None:
    reply = httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, timeout=60).json()
    assert reply["refused"] is False and reply["answer"] == GROUNDED
    assert [s["n"] for s in reply["sources"]] == [1]
    src = reply["sources"][0]
    assert src["source"] == "001_4466b67d58c97d80.txt"
    assert "知识库文件转换为文本格式" in src["text"]
    assert src["text"][src["quote_start"] : src["quote_end"]]
    assert {"retrieve", "first_token", "total"} <= set(reply["timings"])
    prompt = scripted.requests[-1].messages[-1].content
    assert "[1] 001_4466b67d58c97d80.txt" in prompt and ANSWERABLE in prompt


def test_ask_stream_events(server: Server) -> None:
    body = {"question": ANSWERABLE, "stream": True}
    with httpx.stream("POST", f"{server.url}/api/ask", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.read().decode())
    tokens = [d["text"] for name, d in events if name == "token"]
    assert len(tokens) > 3 and "".join(tokens) == GROUNDED
    name, final = events[-1]
    assert name == "done" and final["sources"][0]["n"] == 1


def test_stage_events_come_before_the_first_token_and_name_a_rewritten_question(
    server: Server, scripted: Any
) -> None:
    rewritten = "外挂知识库的流程中，文本分割之后做什么？"
    scripted.reply = lambda r: GROUNDED if r.passages else rewritten  # the rewrite: no passages
    body = {
        "question": "那它之后呢？",
        "history": [
            {"role": "user", "content": ANSWERABLE},
            {"role": "assistant", "content": GROUNDED},
        ],
        "stream": True,
    }
    with httpx.stream("POST", f"{server.url}/api/ask", json=body, timeout=60) as response:
        events = sse_events(response.read().decode())
    names = [name if name != "stage" else f"stage:{d['stage']}" for name, d in events]
    first_token = names.index("token")
    assert names[:first_token] == [
        "stage:rewrite",
        "stage:retrieve",
        "stage:read",
        "stage:generate",
    ]
    assert names[-2:] == ["stage:check", "done"]
    stages = [d for name, d in events if name == "stage"]
    assert stages[1]["query"] == rewritten and "query" not in stages[0]
    elapsed = [d["elapsed"] for d in stages]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    # The OpenAI-compatible stream has no place for them.
    chat = {"model": "notesqa", "messages": [{"role": "user", "content": ANSWERABLE}]}
    text = httpx.post(f"{server.url}/v1/chat/completions", json=chat | {"stream": True}).text
    assert '"stage"' not in text and "event: stage" not in text


def test_unanswerable_is_refused_without_calling_the_model(server: Server, scripted: Any) -> None:
    reply = httpx.post(f"{server.url}/api/ask", json={"question": UNANSWERABLE}, timeout=60).json()
    assert reply["refused"] is True and reply["sources"] == []
    assert "知识库" in reply["answer"]
    assert scripted.requests == [] and scripted.judged == []
    # Which stage refused, why, and with which figures.
    refusal = reply["refusal"]
    assert refusal["stage"] == "retrieval" and "relevant" in refusal["reason"]
    assert refusal["scores"]["relevance"] < refusal["scores"]["threshold"]


def test_a_low_verdict_is_explained_in_the_reply(server: Server, scripted: Any) -> None:
    scripted.reply = "知识库文件转换为文本格式[1]。"
    scripted.verdict = 0.05
    reply = httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, timeout=60).json()
    assert reply["refused"] is True and scripted.requests == []
    assert reply["refusal"]["stage"] == "answerability"
    assert reply["refusal"]["scores"]["p_answerable"] == 0.05
    scripted.verdict = 0.95
    reply = httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, timeout=60).json()
    assert reply["refused"] is False and reply["refusal"] is None
    assert reply["checks"]["p_answerable"] == 0.95


def test_bogus_citation_is_dropped(server: Server, scripted: Any) -> None:
    scripted.reply = "具体流程：知识库文件转换为文本格式[1]，再做文本分割[9]。"
    reply = httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, timeout=60).json()
    assert "[9]" not in reply["answer"] and "[1]" in reply["answer"]
    assert [s["n"] for s in reply["sources"]] == [1]


def test_invented_answer_is_refused_by_the_grounding_check(server: Server, scripted: Any) -> None:
    scripted.reply = "ChatGLM2-6B 改进了量子退火调度器与蛋白质折叠预测，并支持火星通信[1]。"
    reply = httpx.post(f"{server.url}/api/ask", json={"question": ANSWERABLE}, timeout=60).json()
    assert reply["refused"] is True and reply["flagged"] is True
    assert reply["grounding"] < 0.5
    assert reply["refusal"]["stage"] == "grounding"
    assert reply["refusal"]["scores"]["grounding"] == reply["grounding"]


def test_an_openai_stream_ends_on_the_refusal_not_on_the_withdrawn_words(
    server: Server, scripted: Any
) -> None:
    import openai

    invented = "ChatGLM2-6B 改进了量子退火调度器与蛋白质折叠预测，并支持火星通信[1]。"
    scripted.reply = invented
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    chunks = list(
        client.chat.completions.create(
            model="notesqa", messages=[{"role": "user", "content": ANSWERABLE}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # The words came as they were made; the checks' verdict follows them, said as such.
    assert text.startswith(invented)
    assert text.endswith("（以上流式输出的回答已撤回：笔记不支持）\n" + refusal("zh"))
    assert (chunks[-1].model_extra or {})["refusal"]["stage"] == "grounding"


def test_history_rewrites_the_follow_up(server: Server, scripted: Any) -> None:
    def reply(request: GenerationRequest) -> str:
        if "Rewrite the user's last question" in request.messages[0].content:
            return "GLM-130B 的参数量是多少？"
        return "GLM-130B 是 130B 的大模型[1]。"

    scripted.reply = reply
    history = [
        {"role": "user", "content": "GLM-130B 是谁开发的？"},
        {"role": "assistant", "content": "清华团队开发的[1]。"},
    ]
    body = {"question": "它的参数量呢？", "history": history}
    answer = httpx.post(f"{server.url}/api/ask", json=body, timeout=60).json()
    assert answer["query"] == "GLM-130B 的参数量是多少？"
    assert not answer["refused"], (answer["refusal"], answer["checks"])
    assert {"GLM", "130B"} <= set(re.findall(r"GLM|130B", answer["sources"][0]["text"]))
    final_prompt = scripted.requests[-1].messages
    assert [m.role for m in final_prompt][1:3] == ["user", "assistant"]  # history given


def test_openai_client_non_stream_and_stream(server: Server) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    assert [m.id for m in client.models.list().data] == ["notesqa"]
    done = client.chat.completions.create(
        model="notesqa", messages=[{"role": "user", "content": ANSWERABLE}]
    )
    assert done.choices[0].message.content == GROUNDED
    extra = done.model_extra or {}
    assert extra["sources"][0]["source"] == "001_4466b67d58c97d80.txt"

    chunks = list(
        client.chat.completions.create(
            model="notesqa", messages=[{"role": "user", "content": ANSWERABLE}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == GROUNDED
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["sources"][0]["n"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"question": ""}, 422, "invalid_request"),
        ({"question": "   "}, 400, "invalid_input"),
        ({"question": "？"}, 400, "invalid_input"),  # no words: nothing to search for
        ({"question": "\u200b..."}, 400, "invalid_input"),
        ({"question": "问" * 2001}, 413, "too_large"),  # answer.max_question_chars
        ({"question": "q", "top_k": 0}, 422, "invalid_request"),
        ({"question": "q", "top_k": 500}, 422, "invalid_request"),
    ],
)
def test_bad_ask_requests(server: Server, body: dict[str, Any], status: int, code: str) -> None:
    response = httpx.post(f"{server.url}/api/ask", json=body, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ({"n": 2}, "n must be 1"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "calls no tools"),
        ({"response_format": {"type": "json_object"}}, "text only"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_openai_options_notesqa_cannot_honour_are_refused(
    server: Server, option: dict[str, Any], says: str
) -> None:
    body = {"model": "notesqa", "messages": [{"role": "user", "content": ANSWERABLE}], **option}
    reply = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 422 and says in reply.json()["error"]["message"], reply.text
    # What it answers the same whatever they say is accepted (the settings decide).
    fine = body | {"n": 1, "tools": None, "response_format": None, "stream": False}
    fine |= {"temperature": 1.5, "max_tokens": 5, "stop": ["。"], "seed": 7}
    ok = httpx.post(f"{server.url}/v1/chat/completions", json=fine, timeout=30)
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == GROUNDED


def test_malformed_json_and_unknown_model(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/api/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 404 and "unknown model" in response.json()["error"]["message"]
    assert httpx.get(f"{server.url}/nope").json()["error"]["code"] == "not_found"


def test_search_index_and_documents(server: Server) -> None:
    hits = httpx.post(
        f"{server.url}/api/search", json={"query": "SuperCLUE琅琊榜", "top_k": 3}
    ).json()["hits"]
    assert len(hits) == 3 and hits[0]["source"] == "000_20a23b293464c974.txt"
    blank = httpx.post(f"{server.url}/api/search", json={"query": "   "})
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "invalid_input"
    marks = httpx.post(f"{server.url}/api/search", json={"query": "?"})
    assert marks.status_code == 400 and "no words" in marks.json()["error"]["message"]
    status = httpx.get(f"{server.url}/api/index").json()
    assert status["documents"] == 5 and status["chunks"] > 50
    docs = httpx.get(f"{server.url}/api/documents").json()["documents"]
    assert [d["source"] for d in docs] == sorted(d["source"] for d in docs) and len(docs) == 5
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_full_queue_answers_503_with_retry_after(notes_settings: Settings, scripted: Any) -> None:
    settings = notes_settings.model_copy(
        update={"server": notes_settings.server.model_copy(update={"queue_size": 0})}
    )
    scripted.reply = GROUNDED
    scripted.gate = threading.Event()
    with Server(settings, scripted) as srv:
        first: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: first.update(
                r=httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=60)
            )
        )
        worker.start()
        deadline = time.monotonic() + 30
        while not scripted.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        busy = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE}, timeout=30)
        scripted.gate.set()
        worker.join(60)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "10"
    assert busy.json()["error"]["code"] == "busy"
    assert first["r"].status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/ask", {"question": ANSWERABLE, "stream": True}),
        (
            "/v1/chat/completions",
            {
                "model": "notesqa",
                "messages": [{"role": "user", "content": ANSWERABLE}],
                "stream": True,
            },
        ),
    ],
)
def test_client_going_away_stops_the_model_and_frees_the_slot(
    notes_settings: Settings, scripted: Any, path: str, body: dict[str, Any]
) -> None:
    settings = notes_settings.model_copy(
        update={"server": notes_settings.server.model_copy(update={"queue_size": 0})}
    )
    scripted.reply = GROUNDED * 100  # about 60 s of generation: far longer than we wait
    scripted.delay = 0.05
    # With the garbage collector off, only an explicit close can free the slot: left to
    # the collector, a hang-up held the queue for as long as it took to run.
    gc.disable()
    try:
        with Server(settings, scripted) as srv:
            with httpx.stream("POST", f"{srv.url}{path}", json=body, timeout=30) as response:
                assert response.status_code == 200, response.read()
                lines = response.iter_lines()
                while "delta" not in (line := next(lines)) and "token" not in line:
                    pass
            # the client hung up mid-answer; the next question must get the slot as soon
            # as the server notices (its next write fails)
            deadline = time.monotonic() + 10
            status = 0
            while status != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                ask = {"question": UNANSWERABLE}
                status = httpx.post(f"{srv.url}/api/ask", json=ask, timeout=20).status_code
    finally:
        gc.enable()
    assert status == 200
    assert scripted.stopped == 1


def test_ready_only_once_the_first_question_would_not_wait(
    notes_settings: Settings, scripted: Any, monkeypatch: Any
) -> None:
    # jieba's part-of-speech dictionary (the constraints' tagger) took 1.1 s on the first
    # question while /readyz already said ready. Here the warm-up is held at that step.
    from app import names

    reached, release = threading.Event(), threading.Event()

    def held() -> None:
        reached.set()
        release.wait(30)

    monkeypatch.setattr(names, "warm", held)
    with Server(notes_settings, scripted, wait=False) as srv:
        assert reached.wait(30)  # the index is loaded and searched; the tagger is not
        ready = httpx.get(f"{srv.url}/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "loading"
        release.set()
        deadline = time.monotonic() + 10
        while httpx.get(f"{srv.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready after the warm-up"
            time.sleep(0.05)


def test_not_ready_without_an_index(notes_settings: Settings, scripted: Any, tmp_path: Any) -> None:
    settings = notes_settings.model_copy(update={"index_dir": tmp_path / "empty"})
    with Server(settings, scripted, wait=False) as srv:
        ready = httpx.get(f"{srv.url}/readyz")
        assert ready.status_code == 503
        ask = httpx.post(f"{srv.url}/api/ask", json={"question": ANSWERABLE})
    assert ask.status_code == 503
    assert ask.json()["error"]["code"] == "index_not_found"
    assert "notesqa build" in ask.json()["error"]["message"]
