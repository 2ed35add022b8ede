"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis),
against a real uvicorn server with the real embedding model, FAISS and index and the
extractive generator (real, no LLM). Bounded: a few examples per operation.

Every response must be no 5xx, match its documented status codes and schema, and every
error must have the documented ``{"error": {"code", "message"}}`` body.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from live import ROOT, Server
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.llm.extractive import ExtractiveGenerator
from app.settings import Settings


@pytest.fixture(scope="module")
def live_server(
    notes_index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    from conftest import TEST_CONFIG

    from app.settings import load_settings

    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(notes_index_dir, root / "indexes")
    shutil.copytree(ROOT / "notes", root / "docs")
    base: Settings = load_settings(TEST_CONFIG)
    fuzzed = base.model_copy(update={"index_dir": root / "indexes", "docs_dir": root / "docs"})
    with Server(fuzzed, ExtractiveGenerator()) as srv:
        yield srv


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


def test_the_api_holds_its_schema(live_server: Server) -> None:
    # The operations one by one with Hypothesis (schemathesis' pytest plugin does not
    # run on this pytest); failures are collected, so one run reports all of them.
    api = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            response = case.call(timeout=60)
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
    assert not failures, "\n\n".join(failures)
