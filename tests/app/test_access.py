"""API keys, host names and CORS on a real uvicorn server (scripted generator, real
embedding model and index)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Server
from pydantic import SecretStr
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings

KEYS = ("first-key", "second-key")
ADMIN = "the-admin-token"
QUESTION = "外挂知识库的具体流程是什么？"
TEST_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "test.yaml")


def with_server(settings: Settings, scripted: Any, **server: Any) -> Server:
    changed = settings.model_copy(
        update={"server": settings.server.model_copy(update=server)} if server else {}
    )
    return Server(changed, scripted)


@pytest.fixture
def keyed(notes_settings: Settings, scripted: Any, tmp_path: Path) -> Iterator[Server]:
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# team keys\n{KEYS[1]}\n", encoding="utf-8")
    settings = notes_settings.model_copy(
        update={
            "api_key": SecretStr(KEYS[0]),
            "api_key_file": key_file,
            "admin_token": SecretStr(ADMIN),
        }
    )
    scripted.reply = "知识库文件转换为文本格式[1]。"
    with Server(settings, scripted) as srv:
        yield srv


ROUTES = [
    ("GET", "/api/index", None),
    ("GET", "/api/documents", None),
    ("GET", "/api/kbs", None),
    ("GET", "/api/kbs/default/documents", None),
    ("POST", "/api/search", {"query": "LoRA"}),
    ("POST", "/api/ask", {"question": QUESTION}),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", {"model": "notesqa", "messages": []}),
]


def test_every_api_route_needs_a_key(keyed: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for method, path, body in ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEYS[0]}):
            reply = httpx.request(method, keyed.url + path, json=body, headers=headers)
            assert reply.status_code == 401, (path, headers, reply.text)
            assert reply.json()["error"]["code"] == "unauthorized"
            assert reply.headers["www-authenticate"] == "Bearer"
    for path in ("/healthz", "/readyz"):
        assert httpx.get(keyed.url + path).status_code == 200
    # Either key works, from the variable or the file, and so does the admin token.
    for key in (*KEYS, ADMIN):
        reply = httpx.get(f"{keyed.url}/api/index", headers={"Authorization": f"Bearer {key}"})
        assert reply.status_code == 200
    assert not any(k in caplog.text for k in (*KEYS, ADMIN))


def test_the_openai_client_sends_its_key(keyed: Server) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key=KEYS[1])
    assert [m.id for m in client.models.list().data] == ["notesqa"]
    wrong = openai.OpenAI(base_url=f"{keyed.url}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_only_configured_host_names_are_served(notes_settings: Settings, scripted: Any) -> None:
    with with_server(notes_settings, scripted) as srv:
        for host in ("localhost", "127.0.0.1", "[::1]:8000", f"127.0.0.1:{srv.port}"):
            assert httpx.get(f"{srv.url}/api/index", headers={"Host": host}).status_code == 200
        for host in ("evil.example", "evil.example:8000", "localhost.evil.example"):
            for path in ("/api/index", "/", "/api/documents"):
                reply = httpx.get(srv.url + path, headers={"Host": host})
                assert reply.status_code == 400, (host, path)
                assert reply.json()["error"]["code"] == "bad_host"
    with with_server(notes_settings, scripted, allowed_hosts=["notes.example"]) as srv:
        reply = httpx.get(f"{srv.url}/api/index", headers={"Host": "notes.example"})
        assert reply.status_code == 200
    with with_server(notes_settings, scripted, allowed_hosts=["*"]) as srv:
        reply = httpx.get(f"{srv.url}/api/index", headers={"Host": "anything.example"})
        assert reply.status_code == 200


def test_cors_is_off_unless_origins_are_configured(notes_settings: Settings, scripted: Any) -> None:
    origin = {"Origin": "https://wiki.example"}
    with with_server(notes_settings, scripted) as srv:
        reply = httpx.get(f"{srv.url}/api/index", headers=origin)
        assert "access-control-allow-origin" not in reply.headers
    with with_server(notes_settings, scripted, cors_origins=["https://wiki.example"]) as srv:
        preflight = httpx.options(
            f"{srv.url}/api/search",
            headers=origin
            | {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://wiki.example"
        other = httpx.get(f"{srv.url}/api/index", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_serving_everywhere_without_a_key_is_refused_when_required() -> None:
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--require-key", "--config", TEST_CONFIG]
    )
    assert result.exit_code == 1
    assert "refusing to start" in result.output and "NOTESQA_API_KEY" in result.output
