"""Conversations and feedback over HTTP (/api/conversations, /api/kbs/{kb}/feedback) and
the CLI export, on a real uvicorn server with the real embedding model and FAISS; the
generator is the extractive one (real, no LLM)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kb_server import AUTH, TOKEN, make_settings
from live import Server
from pydantic import SecretStr
from typer.testing import CliRunner

from app.cli import app as cli
from app.llm.extractive import ExtractiveGenerator
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(notes_settings: Settings, notes_index_dir: Path, tmp_path: Path) -> Iterator[Server]:
    settings = make_settings(
        notes_settings, tmp_path, notes_index_dir, admin_token=SecretStr(TOKEN)
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        yield srv


def asked(url: str, question: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    reply = httpx.post(f"{url}/api/ask", json={"question": question}, headers=headers, timeout=60)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_a_conversation_lives_on_the_server(server: Server) -> None:
    api = f"{server.url}/api/conversations"
    assert httpx.get(api).json() == {"kb": "default", "conversations": []}
    made = httpx.post(api, json={"title": "LoRA 是什么？"})
    assert made.status_code == 201
    cid = made.json()["id"]

    answer = asked(server.url, "LoRA 是什么？")
    turn = httpx.post(f"{api}/{cid}/turns", json={"question": "LoRA 是什么？", "reply": answer})
    assert turn.status_code == 201
    second = httpx.post(f"{api}/{cid}/turns", json={"question": "它的缺点呢？", "reply": answer})

    detail = httpx.get(f"{api}/{cid}").json()
    assert detail["conversation"]["title"] == "LoRA 是什么？"
    assert [t["question"] for t in detail["turns"]] == ["LoRA 是什么？", "它的缺点呢？"]
    # The reply comes back as it was given: citations and their passages included.
    assert detail["turns"][0]["reply"]["sources"] == answer["sources"]
    assert detail["turns"][0]["feedback"] is None

    renamed = httpx.patch(f"{api}/{cid}", json={"title": "LoRA 笔记"})
    assert renamed.json()["title"] == "LoRA 笔记"
    rated = httpx.put(
        f"{api}/{cid}/turns/{turn.json()['id']}/feedback",
        json={"rating": "up", "comment": "准确"},
    )
    assert rated.json()["feedback"]["rating"] == "up"
    assert httpx.delete(f"{api}/{cid}/turns/{second.json()['id']}").json() == {"deleted": 1}
    listed = httpx.get(api).json()["conversations"]
    assert [(c["title"], c["turns"]) for c in listed] == [("LoRA 笔记", 1)]

    assert httpx.delete(f"{api}/{cid}").json() == {"deleted": cid}
    gone = httpx.get(f"{api}/{cid}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_bad_requests_get_the_error_body(server: Server) -> None:
    api = f"{server.url}/api/conversations"
    cid = httpx.post(api, json={"title": "q"}).json()["id"]
    turn = httpx.post(f"{api}/{cid}/turns", json={"question": "q", "reply": {}}).json()["id"]
    for method, path, body, status in [
        ("POST", "", {"title": ""}, 422),
        ("POST", "", {"title": "q", "extra": 1}, 422),
        ("PATCH", f"/{cid}", {}, 422),
        ("POST", f"/{cid}/turns", {"question": "q"}, 422),
        ("POST", f"/{cid}/turns", {"question": "q", "reply": "not an object"}, 422),
        ("PUT", f"/{cid}/turns/{turn}/feedback", {"rating": "meh"}, 422),
        ("PUT", f"/{cid}/turns/nope/feedback", {"rating": "up"}, 404),
        ("DELETE", "/nope", None, 404),
        ("GET", "?kb=no-such-kb", None, 404),
        ("GET", "?kb=../x", None, 400),
    ]:
        reply = httpx.request(method, f"{api}{path}", json=body)
        assert reply.status_code == status, (method, path, reply.text)
        assert set(reply.json()["error"]) == {"code", "message"}


def test_each_api_key_has_its_own_conversations(
    notes_settings: Settings, notes_index_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(
        notes_settings, tmp_path, notes_index_dir, api_key=SecretStr("alpha-key-1,beta-key-2")
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        api = f"{srv.url}/api/conversations"
        one, two = ({"Authorization": f"Bearer {k}"} for k in ("alpha-key-1", "beta-key-2"))
        cid = httpx.post(api, json={"title": "第一个人的问题"}, headers=one).json()["id"]
        assert [c["id"] for c in httpx.get(api, headers=one).json()["conversations"]] == [cid]
        assert httpx.get(api, headers=two).json()["conversations"] == []
        assert httpx.get(f"{api}/{cid}", headers=two).status_code == 404
        assert httpx.get(api).status_code == 401
        # The key itself is never stored: only a hash of it names the owner.
        data = (tmp_path / "indexes" / "default" / "conversations.sqlite").read_bytes()
        assert b"alpha-key-1" not in data


def test_a_server_that_keeps_no_conversations_says_so(
    notes_settings: Settings, notes_index_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(notes_settings, tmp_path, notes_index_dir)
    settings = settings.model_copy(
        update={"server": settings.server.model_copy(update={"conversations": "browser"})}
    )
    with Server(settings, ExtractiveGenerator()) as srv:
        reply = httpx.get(f"{srv.url}/api/conversations")
        assert reply.status_code == 503
        assert reply.json()["error"]["code"] == "conversations_unavailable"
        assert "browser" in reply.json()["error"]["message"]
        # No admin token on this server: the export is off, and says how to turn it on.
        export = httpx.get(f"{srv.url}/api/kbs/default/feedback")
        assert export.status_code == 403
        assert "exporting feedback" in export.json()["error"]["message"]
    assert not (tmp_path / "indexes" / "default" / "conversations.sqlite").exists()


def test_feedback_exports_as_jsonl_for_the_admin_and_the_cli(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = f"{server.url}/api/conversations"
    cid = httpx.post(api, json={"title": "Transformer"}).json()["id"]
    for question, rating in [
        ("Transformer 是谁提出的？", "up"),
        ("GPT-4 的参数量是多少？", "down"),
    ]:
        answer = asked(server.url, question)
        tid = httpx.post(f"{api}/{cid}/turns", json={"question": question, "reply": answer}).json()
        httpx.put(f"{api}/{cid}/turns/{tid['id']}/feedback", json={"rating": rating})

    export = f"{server.url}/api/kbs/default/feedback"
    assert httpx.get(export).status_code == 401  # every key's questions: the admin's only
    reply = httpx.get(export, headers=AUTH)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/x-ndjson")
    items = [json.loads(line) for line in reply.text.splitlines()]
    assert [(i["question"], i["feedback"]["rating"]) for i in items] == [
        ("Transformer 是谁提出的？", "up"),
        ("GPT-4 的参数量是多少？", "down"),
    ]
    downs = httpx.get(export, params={"rating": "down"}, headers=AUTH).text.splitlines()
    assert len(downs) == 1 and json.loads(downs[0])["type"] == "review"

    # The CLI reads the same file (the server's index folder, made by make_settings).
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(tmp_path / "indexes"))
    monkeypatch.setenv("NOTESQA_DOCS_DIR", str(tmp_path / "docs"))
    out = tmp_path / "feedback.jsonl"
    config = str(ROOT / "configs" / "test.yaml")
    result = CliRunner().invoke(
        cli, ["kb", "feedback", "default", "-o", str(out), "--config", config]
    )
    assert result.exit_code == 0, result.output
    assert "2 items written" in result.output
    assert [json.loads(line) for line in out.read_text("utf-8").splitlines()] == items
    bad = CliRunner().invoke(
        cli, ["kb", "feedback", "default", "--rating", "meh", "--config", config]
    )
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "--rating" in bad.output


def test_conversations_go_with_their_knowledge_base(server: Server) -> None:
    assert (
        httpx.post(f"{server.url}/api/kbs", json={"name": "team"}, headers=AUTH).status_code == 201
    )
    api = f"{server.url}/api/conversations"
    httpx.post(api, params={"kb": "team"}, json={"title": "团队的问题"})
    assert len(httpx.get(api, params={"kb": "team"}).json()["conversations"]) == 1
    assert httpx.get(api).json()["conversations"] == []  # default's are its own
    assert httpx.delete(f"{server.url}/api/kbs/team", headers=AUTH).status_code == 200
    httpx.post(f"{server.url}/api/kbs", json={"name": "team"}, headers=AUTH)
    assert httpx.get(api, params={"kb": "team"}).json()["conversations"] == []


def test_status_titles_and_example_questions(server: Server) -> None:
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["model"] == "extractive"
    docs = httpx.get(f"{server.url}/api/kbs/default/documents").json()["documents"]
    titles = {d["source"]: d["title"] for d in docs}
    # The notes' first lines (after the clipping site's furniture is cleaned away).
    assert titles["001_4466b67d58c97d80.txt"] == "LLM调研笔记"
    assert titles["004_c53eff2fd372bf53.txt"] == "大模型综述"
    listed = httpx.get(f"{server.url}/api/documents").json()["documents"]
    assert {d["source"]: d["title"] for d in listed} == titles
    examples = httpx.get(f"{server.url}/api/index").json()["examples"]
    assert 3 <= len(examples) <= 4 and len(set(examples)) == len(examples)
    assert all(q.endswith(("？", "?")) for q in examples)
    # Each is answerable from the notes: asked as it is, it finds passages.
    for question in examples:
        hits = httpx.post(f"{server.url}/api/search", json={"query": question}).json()
        assert hits["found"], question
