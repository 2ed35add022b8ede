"""API keys, host names and CORS on a real uvicorn server (scripted generator, real
embedding model and index)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kb_server import make_settings
from live import Server
from pydantic import SecretStr
from typer.testing import CliRunner

from app.api.main import GracefulServer
from app.cli import app
from app.settings import Settings

KEYS = ("first-key", "second-key")
ADMIN = "the-admin-token"
QUESTION = "外挂知识库的具体流程是什么？"
TEST_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "test.yaml")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def with_server(settings: Settings, scripted: Any, **server: Any) -> Server:
    changed = settings.model_copy(
        update={"server": settings.server.model_copy(update=server)} if server else {}
    )
    return Server(changed, scripted)


@pytest.fixture
def keyed(
    notes_settings: Settings, notes_index_dir: Path, scripted: Any, tmp_path: Path
) -> Iterator[Server]:
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# team keys\n{KEYS[1]}\n", encoding="utf-8")
    # Private copies of the index and the notes: the changing endpoints are called.
    settings = make_settings(
        notes_settings,
        tmp_path,
        notes_index_dir,
        api_key=SecretStr(KEYS[0]),
        api_key_file=key_file,
        admin_token=SecretStr(ADMIN),
    )
    scripted.reply = "知识库文件转换为文本格式[1]。"
    with Server(settings, scripted) as srv:
        yield srv


READ_ROUTES = [
    ("GET", "/api/index", None),
    ("GET", "/api/documents", None),
    ("GET", "/api/kbs", None),
    ("GET", "/api/kbs/default", None),
    ("GET", "/api/kbs/default/documents", None),
    ("GET", "/api/kbs/default/documents/abc/text", None),
    ("GET", "/api/kbs/default/rebuild", None),
    ("POST", "/api/search", {"query": "LoRA"}),
    ("POST", "/api/ask", {"question": QUESTION}),
    ("GET", "/v1/models", None),
    ("POST", "/v1/chat/completions", {"model": "notesqa", "messages": []}),
]
# The changing endpoints: with a valid body, so only the key could stop them.
ADMIN_ROUTES = [
    ("POST", "/api/kbs", {"name": "made"}),
    ("DELETE", "/api/kbs/default", None),
    ("POST", "/api/kbs/default/documents", None),  # sent as a multipart upload
    ("DELETE", "/api/kbs/default/documents/abc", None),
    ("POST", "/api/kbs/default/rebuild", None),
]
ROUTES = READ_ROUTES + ADMIN_ROUTES
UPLOAD = {"files": ("made.txt", b"uploaded without a key", "text/plain")}


def call(server: Server, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    files = UPLOAD if path.endswith("/documents") and method == "POST" else None
    return httpx.request(method, server.url + path, json=body, files=files, headers=headers)


def test_every_api_route_needs_a_key(keyed: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for method, path, body in ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEYS[0]}):
            reply = call(keyed, method, path, body, headers)
            assert reply.status_code == 401, (method, path, headers, reply.text)
            assert reply.json()["error"]["code"] == "unauthorized"
            assert reply.headers["www-authenticate"] == "Bearer"
    # An API key is not the admin token: the changing endpoints still refuse it.
    for method, path, body in ADMIN_ROUTES:
        reply = call(keyed, method, path, body, {"Authorization": f"Bearer {KEYS[0]}"})
        assert reply.status_code == 401, (method, path, reply.text)
        assert "admin token" in reply.json()["error"]["message"]
    listed = httpx.get(f"{keyed.url}/api/kbs", headers=bearer(ADMIN)).json()["kbs"]
    assert [k["name"] for k in listed] == ["default"]
    assert not (Path(keyed.app.state.settings.docs_dir) / "made.txt").exists()
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


def test_serving_everywhere_without_a_key_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []  # the uvicorn configs `serve` would have run
    monkeypatch.setattr(
        GracefulServer, "run", lambda self, sockets=None: started.append(self.config)
    )
    monkeypatch.setattr(
        logging, "basicConfig", lambda **_: None
    )  # no handler on CliRunner's stderr
    runner = CliRunner()
    args = ["serve", "--port", "8765", "--config", TEST_CONFIG]
    everywhere = runner.invoke(app, [*args, "--host", "0.0.0.0"])
    assert everywhere.exit_code == 0, everywhere.output
    assert "warning:" in everywhere.output
    assert "serving on 0.0.0.0 without an API key" in everywhere.output
    assert "NOTESQA_API_KEY" in everywhere.output
    assert started[-1].host == "0.0.0.0" and started[-1].port == 8765
    loopback = runner.invoke(app, [*args, "--host", "127.0.0.1"])
    assert loopback.exit_code == 0 and "without an API key" not in loopback.output
    monkeypatch.setenv("NOTESQA_API_KEY", "team-key")
    keyed = runner.invoke(app, [*args, "--host", "0.0.0.0"])
    assert keyed.exit_code == 0 and "without an API key" not in keyed.output
    assert len(started) == 3


def test_an_address_that_cannot_be_listened_on_is_one_line_before_loading() -> None:
    runner = CliRunner()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = runner.invoke(app, ["serve", "--port", str(port), "--config", TEST_CONFIG])
    assert busy.exit_code == 1
    assert (
        busy.output.strip() == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    nowhere = runner.invoke(
        app, ["serve", "--host", "no-such-host.invalid", "--config", TEST_CONFIG]
    )
    assert nowhere.exit_code == 1 and "cannot listen on no-such-host.invalid" in nowhere.output
    assert nowhere.output.count("\n") == 1
    huge = runner.invoke(app, ["serve", "--port", "70000", "--config", TEST_CONFIG])
    assert huge.exit_code == 2 and "Traceback" not in huge.output and "--port" in huge.output


def test_forwarded_headers_count_only_from_trusted_proxies(
    notes_settings: Settings, scripted: Any
) -> None:
    # Two effects of X-Forwarded-*: the scheme of an absolute URL the server makes (the
    # Location of a trailing-slash redirect), and the client address the rate limit
    # counts by when no key is sent (burst 1: a second question from that address is 429).
    limits = notes_settings.limits.model_copy(update={"rate_per_minute": 1, "rate_burst": 1})
    settings = notes_settings.model_copy(update={"limits": limits})
    proto = {"X-Forwarded-Proto": "https"}
    body = {"question": "FlashAttention 是如何减少显存读写的？"}

    def ask_from(srv: Server, address: str) -> int:
        reply = httpx.post(
            f"{srv.url}/api/ask", json=body, headers={"X-Forwarded-For": address}, timeout=60
        )
        return reply.status_code

    with with_server(settings, scripted) as srv:  # trusted_proxies: none
        moved = httpx.get(f"{srv.url}/healthz/", headers=proto)
        assert moved.status_code == 307 and moved.headers["location"].startswith("http://")
        assert ask_from(srv, "203.0.113.1") == 200
        assert ask_from(srv, "203.0.113.2") == 429  # the same client: the proxy's address
    with with_server(settings, scripted, trusted_proxies=["127.0.0.1"]) as srv:
        moved = httpx.get(f"{srv.url}/healthz/", headers=proto)
        assert moved.status_code == 307 and moved.headers["location"].startswith("https://")
        assert ask_from(srv, "203.0.113.1") == 200
        assert ask_from(srv, "203.0.113.2") == 200  # another client behind the proxy
        assert ask_from(srv, "203.0.113.1") == 429
