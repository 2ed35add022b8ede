"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis),
against a real uvicorn server with the real embedding model, FAISS and index and the
extractive generator (real, no LLM). Bounded: a few examples per operation.

Every response must be no 5xx, match its documented status codes and schema, and every
error must have the documented ``{"error": {"code", "message"}}`` body. It runs twice:
on an open server, and on one with an API key and an admin token, where each example is
sent with the admin token, the API key, a wrong key or none, so the 401s and the
changing endpoints' successes (knowledge bases made, uploads, rebuilds) are fuzzed too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live import ROOT, Server
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.llm.extractive import ExtractiveGenerator
from app.settings import Settings

KEY = "fuzz-api-key"
ADMIN = "fuzz-admin-token"
# What the keyed server's examples send: the admin token (a key too; twice, so most
# operations get it a few times in their 12 examples), the API key (no admin), a wrong
# key, nothing. The open server's: nothing.
KEYED_AUTH = [f"Bearer {ADMIN}", f"Bearer {ADMIN}", f"Bearer {KEY}", "Bearer wrong", None]


@pytest.fixture(scope="module", params=["open", "keyed"])
def live_server(
    request: pytest.FixtureRequest, notes_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    from conftest import TEST_CONFIG

    from app.settings import load_settings

    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    shutil.copytree(notes_index_dir, root / "indexes")
    shutil.copytree(ROOT / "notes", root / "docs")
    base: Settings = load_settings(TEST_CONFIG)
    update: dict[str, Any] = {"index_dir": root / "indexes", "docs_dir": root / "docs"}
    if request.param == "keyed":
        update |= {"api_key": SecretStr(KEY), "admin_token": SecretStr(ADMIN)}
    with Server(base.model_copy(update=update), ExtractiveGenerator()) as srv:
        yield srv


def auths(srv: Server) -> list[str | None]:
    return KEYED_AUTH if srv.app.state.settings.api_key is not None else [None]


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


def test_the_api_holds_its_schema(live_server: Server) -> None:
    # The operations one by one with Hypothesis (schemathesis' pytest plugin does not
    # run on this pytest); failures are collected, so one run reports all of them.
    keyed = live_server.app.state.settings.api_key is not None
    api = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(), auth=st.sampled_from(auths(live_server)))
        @settings(
            max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any, auth: str | None) -> None:
            headers = {"Authorization": auth} if auth is not None else {}
            response = case.call(timeout=60, headers=headers)
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert operations >= 15 and len(calls) >= 5 * operations, (operations, len(calls))
    assert any(code < 300 for code in calls) and any(code >= 400 for code in calls)
    if keyed:
        assert 401 in calls
        # The admin token reached the changing endpoints: a knowledge base was made.
        assert 201 in calls, sorted(set(calls))
    assert not failures, "\n\n".join(failures)


def test_the_schema_lists_what_the_routes_return(live_server: Server) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json").json()

    def documented(method: str, path: str) -> set[int]:
        return {int(s) for s in spec["paths"][path][method]["responses"]}

    ref = {"$ref": "#/components/schemas/Error"}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == ref
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path in ("/api/ask", "/v1/chat/completions"):  # an upstream model's failure: 502
        assert {429, 502, 503} <= documented("post", path)
    # A knowledge base not built yet: its documents' text is 503, as documented.
    library = live_server.app.state.library
    library.create("unbuilt")
    try:
        reply = httpx.get(
            f"{live_server.url}/api/kbs/unbuilt/documents/abc/text",
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
    finally:
        library.delete("unbuilt", purge_documents=True)
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "index_not_found"
    assert 503 in documented("get", "/api/kbs/{name}/documents/{doc_id}/text")
