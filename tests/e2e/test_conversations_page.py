"""Conversations that last, edited questions, feedback, example questions, document titles
and the live status line, in a real Chromium against `notesqa serve` (a real uvicorn
server, the real index and embedder; the extractive generator, as in all browser tests).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import ServerProcess
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
TEST_CONFIG = ROOT / "configs" / "test.yaml"
TOKEN = "e2e-admin-token"
DONE = "#conversation .msg--assistant[aria-busy=false]"


def _serve(notes_index_dir: Path, root: Path, **env: str) -> ServerProcess:
    # Without the conversations other modules' pages kept in the shared index.
    shutil.copytree(
        notes_index_dir, root / "indexes", ignore=shutil.ignore_patterns("conversations.*")
    )
    env = {"NOTESQA_INDEX_DIR": str(root / "indexes"), **env}
    return ServerProcess(env, config=TEST_CONFIG, log=root / "server.log")


@pytest.fixture(scope="module")
def server_url(notes_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own server (open_page uses it): with an admin token, for the export."""
    server = _serve(notes_index_dir, tmp_path_factory.mktemp("chats"), NOTESQA_ADMIN_TOKEN=TOKEN)
    with server.serving() as url:
        yield url


def ask(page: Page, question: str, done: int) -> Any:
    page.fill("#question", question)
    page.press("#question", "Enter")
    expect(page.locator(DONE)).to_have_count(done, timeout=60_000)
    return page.locator("#conversation .msg--assistant").last


def kept(page: Page) -> None:
    """Wait until the last answer is kept on the server (its feedback buttons turn on)."""
    last = page.locator("#conversation .msg--assistant").last
    expect(last.locator(".feedback__button").first).to_be_enabled()


def test_a_conversation_survives_a_reload_and_shows_on_another_device(
    open_page: Callable[..., Page], server_url: str
) -> None:
    page = open_page()
    answer = ask(page, "外挂知识库的具体流程是什么？", 1)
    cited = answer.locator("button.cite").first.get_attribute("aria-label")
    assert cited and cited.startswith("出处 1：")
    ask(page, "Transformer 是谁提出的？", 2)
    kept(page)
    chats = page.locator("#chat-list .convo__open")
    expect(chats.first).to_have_text("外挂知识库的具体流程是什么？")
    expect(chats.first).to_have_attribute("aria-current", "true")

    page.reload()
    expect(page.locator(DONE)).to_have_count(2)
    expect(page.locator(".msg--user .msg__bubble")).to_have_text(
        ["外挂知识库的具体流程是什么？", "Transformer 是谁提出的？"]
    )
    first = page.locator("#conversation .msg--assistant").first
    expect(first.locator("button.cite").first).to_have_attribute("aria-label", cited)
    expect(page.locator("#empty")).to_be_hidden()

    # Another browser (no storage in common), a tablet, finds it in the drawer's list.
    other = open_page(width=1024)
    expect(other.locator("#empty")).to_be_visible()
    other.locator("#kb-toggle").click()
    other.locator("#chat-list .convo__open", has_text="外挂知识库的具体流程是什么？").first.click()
    expect(other.locator(DONE)).to_have_count(2)
    expect(other.locator("#kb")).to_be_hidden()  # the drawer closes on the chosen one

    # A follow-up asked there is sent with the kept history, and kept in turn.
    ask(other, "它的第一步是什么？", 3)
    kept(other)
    page.reload()
    expect(page.locator(DONE)).to_have_count(3)


def test_rename_and_delete_from_the_list(open_page: Callable[..., Page]) -> None:
    page = open_page(locale="en-US")
    ask(page, "What is LoRA?", 1)
    item = page.locator("#chat-list .convo").first
    item.get_by_role("button", name="Rename “What is LoRA?”").click()
    title = page.get_by_role("textbox", name="Conversation title")
    title.fill("LoRA notes")
    title.press("Enter")
    expect(page.locator("#chat-list .convo__open").first).to_have_text("LoRA notes")
    expect(page.get_by_role("button", name="Rename “LoRA notes”")).to_be_focused()

    delete = page.get_by_role("button", name="Delete “LoRA notes”")
    delete.click()
    expect(delete).to_have_text("Delete?")  # two steps: no deletion on one stray click
    delete.click()
    expect(page.locator("#chat-list .convo__open", has_text="LoRA notes")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()  # the open conversation went with it


def test_editing_an_earlier_question_asks_it_again_and_drops_what_followed(
    open_page: Callable[..., Page], server_url: str
) -> None:
    page = open_page()
    ask(page, "LoRA 是什么？", 1)
    kept(page)
    # The second answer is still being kept when the first question is edited (its POST
    # is held here): the cut must wait for it, or it lands afterwards and comes back.
    held: list[Route] = []
    turns = re.compile(r"/api/conversations/[^/?]+/turns\?")
    page.route(
        turns,
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    ask(page, "它有什么优点？", 2)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    page.get_by_role("button", name="编辑问题：LoRA 是什么？").click()
    editor = page.get_by_role("textbox", name="编辑")
    expect(editor).to_have_value("LoRA 是什么？")
    editor.fill("Transformer 是谁提出的？")
    editor.press("Enter")
    held[0].continue_()
    page.unroute(turns)  # the edited question's answer is kept as usual
    expect(page.locator(DONE)).to_have_count(1, timeout=60_000)
    expect(page.locator(".msg--user .msg__bubble")).to_have_text(["Transformer 是谁提出的？"])
    kept(page)

    conversation = page.evaluate("localStorage.getItem('notesqa.chat.default')")
    detail = httpx.get(f"{server_url}/api/conversations/{conversation}").json()
    assert [t["question"] for t in detail["turns"]] == ["Transformer 是谁提出的？"]


def test_feedback_is_kept_on_the_server_and_exported(
    open_page: Callable[..., Page], server_url: str
) -> None:
    page = open_page()
    answer = ask(page, "预训练时 batch_size 一般设置多大？", 1)
    down = answer.get_by_role("button", name="没有帮助")
    expect(down).to_be_enabled()  # once the turn is kept
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    comment = answer.get_by_role("textbox", name="补充说明（可选）")
    comment.fill("没有给出具体数字")
    answer.get_by_role("button", name="发送").click()
    expect(answer.locator(".feedback__status")).to_have_text("谢谢，评价和说明已保存。")

    page.reload()
    restored = page.locator("#conversation .msg--assistant").last
    expect(restored.get_by_role("button", name="没有帮助")).to_have_attribute(
        "aria-pressed", "true"
    )

    reply = httpx.get(
        f"{server_url}/api/kbs/default/feedback",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    items = [json.loads(line) for line in reply.text.splitlines()]
    mine = [i for i in items if i["question"] == "预训练时 batch_size 一般设置多大？"]
    assert len(mine) == 1
    assert mine[0]["type"] == "review" and mine[0]["feedback"]["comment"] == "没有给出具体数字"


def test_example_questions_and_document_titles(open_page: Callable[..., Page]) -> None:
    page = open_page()
    examples = page.locator("#example-list button")
    expect(examples).to_have_count(4)
    first = examples.first.inner_text()
    examples.first.click()
    expect(page.locator(DONE)).to_have_count(1, timeout=60_000)
    expect(page.locator(".msg--user .msg__bubble")).to_have_text([first])

    doc = page.locator("#kb-list .doc", has_text="001_4466b67d58c97d80.txt")
    expect(doc.locator(".doc__name")).to_have_text("LLM调研笔记")
    expect(doc.locator(".doc__name")).to_have_attribute("title", "001_4466b67d58c97d80.txt")
    chip = page.locator(".chip__name").first
    expect(chip).not_to_have_text("000_20a23b293464c974.txt")  # a title, not a hash name


def test_browser_only_mode_when_the_server_keeps_no_conversations(
    browser: Any, notes_index_dir: Path, tmp_path: Path
) -> None:
    server = _serve(notes_index_dir, tmp_path, NOTESQA_SERVER__CONVERSATIONS="browser")
    with server.serving() as url:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.goto(url)
        expect(page.locator("#chat-mode")).to_be_visible()
        expect(page.locator("#chat-mode")).to_contain_text("this browser only")
        ask(page, "What is LoRA?", 1)
        expect(page.locator("#chat-list .convo__open")).to_have_text(["What is LoRA?"])
        expect(page.locator(".feedback")).to_have_count(0)  # feedback is for a server to keep
        page.wait_for_function(
            "JSON.parse(localStorage.getItem('notesqa.chats.default') || '[]')[0]?.turns.length"
        )
        page.reload()
        expect(page.locator(DONE)).to_have_count(1)
        context.close()
    assert not (tmp_path / "indexes" / "default" / "conversations.sqlite").exists()


def test_the_status_line_turns_red_when_the_server_dies(
    browser: Any, notes_index_dir: Path, tmp_path: Path
) -> None:
    server = _serve(notes_index_dir, tmp_path)
    with server.serving() as url:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.goto(url)
        status = page.locator("#status")
        expect(status).to_contain_text("model extractive")
        expect(status).to_have_attribute("data-state", "ready")
        server.kill()
        expect(status).to_have_attribute("data-state", "unreachable", timeout=15_000)
        expect(status).to_contain_text("Server not ready")
        context.close()
