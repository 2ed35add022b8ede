"""Browser-test fixtures: the real server on a free loopback port, one headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
TEST_CONFIG = ROOT / "configs" / "test.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests up front when there is no Chromium, before any index is built."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium`")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium per module (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server_url(notes_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`notesqa serve` over the bundled notes with the extractive generator (no LLM), on a
    copy of the index: the conversations a module's pages keep stay in that module."""
    root = tmp_path_factory.mktemp("server")
    shutil.copytree(
        notes_index_dir, root / "indexes", ignore=shutil.ignore_patterns("conversations.*")
    )
    log = root / "server.log"
    server = ServerProcess(
        {"NOTESQA_INDEX_DIR": str(root / "indexes")}, config=TEST_CONFIG, log=log
    )
    with server.serving() as url:
        yield url


@pytest.fixture
def open_page(browser: Any, server_url: str) -> Iterator[Callable[..., Any]]:
    """Open the chat page in a fresh context: ``open_page(locale="en-US", width=375)``
    (``scheme="dark"`` for the dark theme).

    Uncaught exceptions and console errors in the page fail the test, except the
    browser's own line for an HTTP error status, which some tests cause on purpose.
    """
    contexts: list[Any] = []
    problems: list[str] = []

    def open_(
        *, locale: str = "zh-CN", width: int = 1280, height: int = 800, scheme: str = "light"
    ) -> Any:
        context = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, color_scheme=scheme
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.goto(server_url)
        # The page is ready once the knowledge base and the status line have loaded.
        page.wait_for_selector("#kb-list .doc", state="attached")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems
