"""The knowledge-base panel and the hit-testing view in a real Chromium, against a real
`notesqa serve` with an admin token (extractive generator, no LLM), over a private copy
of the notes index and folder."""

from __future__ import annotations

import base64
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from documents_made import cjk_font, pdf_with
from live import ROOT, ServerProcess
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TOKEN = "page-admin-token"
OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def server_url(notes_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Overrides conftest's: this server has an admin token and its own writable copy."""
    root = tmp_path_factory.mktemp("kb-page")
    shutil.copytree(notes_index_dir, root / "indexes")
    shutil.copytree(ROOT / "notes", root / "docs")
    env = {
        "NOTESQA_INDEX_DIR": str(root / "indexes"),
        "NOTESQA_DOCS_DIR": str(root / "docs"),
        "NOTESQA_ADMIN_TOKEN": TOKEN,
    }
    server = ServerProcess(env, config=ROOT / "configs" / "test.yaml", log=root / "server.log")
    with server.serving() as url:
        yield url


def ask(page: Page, question: str) -> None:
    page.fill("#question", question)
    page.press("#question", "Enter")
    expect(page.locator("#conversation .msg--assistant").last).to_have_attribute(
        "aria-busy", "false"
    )


def test_create_upload_ask_delete_from_the_page(
    open_page: OpenPage, server_url: str, tmp_path: Path
) -> None:
    page = open_page(locale="zh-CN")
    expect(page.locator("#kb-select")).to_have_value("default")
    expect(page.locator("#kb-admin")).to_be_visible()

    # Creating asks for the token once; it is kept for the browser session.
    page.fill("#kb-new-name", "team")
    page.click("#kb-create button[type=submit]")
    expect(page.locator("#kb-token")).to_be_focused()
    page.fill("#kb-token", TOKEN)
    page.click("#kb-token-save")
    page.click("#kb-create button[type=submit]")
    expect(page.locator("#kb-select")).to_have_value("team")
    expect(page.locator("#kb-state")).to_contain_text("还没有文档")

    files = [tmp_path / "roster.txt", tmp_path / "menu.md"]
    files[0].write_text("值班表：周一由林晓负责机房巡检。", encoding="gbk")
    files[1].write_text("# 食堂\n\n周五的午餐是牛肉面。", encoding="utf-8")
    page.set_input_files("#kb-files", [str(f) for f in files])
    expect(page.locator("#kb-message")).to_contain_text("索引已重建", timeout=60_000)
    stages = page.locator("#kb-progress .stage .stage__name")
    expect(stages).to_have_text(["读取", "向量化", "写入"])  # read, embed, write
    # Each indexed document shows its title (first line), its file name beneath.
    expect(page.locator("#kb-list .doc .doc__file")).to_have_text(["menu.md", "roster.txt"])

    with page.expect_request("**/api/ask") as request:
        ask(page, "周一谁负责机房巡检？")
    assert request.value.post_data_json["kb"] == "team"
    answer = page.locator("#conversation .msg--assistant").last
    expect(answer).to_contain_text("林晓")
    expect(answer.locator(".chip")).to_have_attribute("title", "roster.txt")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('#kb-list .doc:has-text("menu.md") .doc__delete').click()
    expect(page.locator("#kb-message")).to_contain_text("移除 1", timeout=60_000)
    expect(page.locator("#kb-list .doc .doc__file")).to_have_text(["roster.txt"])

    # Back on default, the team's documents are not there.
    page.select_option("#kb-select", "default")
    expect(page.locator("#kb-list .doc")).to_have_count(5)
    expect(page.locator("#conversation .msg")).to_have_count(0)  # a new conversation


def test_hit_testing_shows_scores_and_why_it_refuses(open_page: OpenPage) -> None:
    page = open_page(locale="zh-CN")
    page.click("#hittest-open")
    expect(page.locator("#hittest")).to_be_visible()
    expect(page.locator("#hittest-query")).to_be_focused()
    page.fill("#hittest-query", "FlashAttention 是如何减少显存读写的？")
    page.press("#hittest-query", "Enter")
    decision = page.locator(".hittest__decision")
    expect(decision).to_have_attribute("data-decision", "refuse")
    expect(decision).to_contain_text("会被拒答")
    expect(decision.locator(".hittest__reason")).to_contain_text("< 阈值 0.50：没有找到相关内容")
    expect(page.locator(".hittest__steps li").first).to_contain_text("最高相关度")
    headers = page.locator(".hittest__table th")
    expect(headers).to_contain_text(["#", "段落", "相关度", "向量", "关键词", "融合"])
    expect(page.locator(".hittest__table tbody tr")).to_have_count(5)

    page.fill("#hittest-query", "外挂知识库的具体流程是什么？")
    page.click("#hittest-form button[type=submit]")
    expect(decision).to_have_attribute("data-decision", "model decides")
    expect(page.locator('.hittest__steps li[data-passed="true"]').first).to_contain_text("检索")
    page.keyboard.press("Escape")
    expect(page.locator("#hittest")).to_be_hidden()


def test_without_an_admin_token_the_controls_are_hidden(
    browser: object, notes_index_dir: Path, tmp_path: Path
) -> None:
    env = {"NOTESQA_INDEX_DIR": str(notes_index_dir)}
    config = ROOT / "configs" / "test.yaml"
    with ServerProcess(env, config=config, log=tmp_path / "server.log") as server:
        assert httpx.get(f"{server.url}/api/kbs").json()["admin"] is False
        context = browser.new_context(locale="en-US")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_selector("#kb-list .doc", state="attached")
        expect(page.locator("#kb-admin")).to_be_hidden()
        expect(page.locator(".doc__delete")).to_have_count(0)
        context.close()


def test_the_page_asks_for_the_api_key_once(
    browser: object, notes_index_dir: Path, tmp_path: Path
) -> None:
    env = {"NOTESQA_INDEX_DIR": str(notes_index_dir), "NOTESQA_API_KEY": "page-key"}
    config = ROOT / "configs" / "test.yaml"
    with ServerProcess(env, config=config, log=tmp_path / "server.log") as server:
        context = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(server.url)
        expect(page.locator("#key-dialog")).to_be_visible()
        expect(page.locator("#kb-list .doc")).to_have_count(0)
        page.fill("#key-input", "page-key")
        page.press("#key-input", "Enter")
        expect(page.locator("#key-dialog")).to_be_hidden()
        expect(page.locator("#kb-list .doc")).to_have_count(5)
        with page.expect_request("**/api/ask") as request:
            ask(page, "外挂知识库的具体流程是什么？")
        assert request.value.headers["authorization"] == "Bearer page-key"
        expect(page.locator("#conversation .msg--assistant").last).not_to_have_attribute(
            "data-state", "error"
        )
        page.reload()  # kept for the browser session: not asked again
        expect(page.locator("#kb-list .doc")).to_have_count(5)
        expect(page.locator("#key-dialog")).to_be_hidden()
        context.close()


def test_a_citation_of_a_pdf_opens_its_page(
    open_page: OpenPage, server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(f"{server_url}/api/kbs", json={"name": "manuals"}, headers=auth)
    pages = [
        "安装程序会把文件复制到程序目录中，然后创建桌面快捷方式。",
        "网关在 8443 端口上监听外部连接。修改配置后需要重启网关。",
        "备份任务每天凌晨两点运行，保留最近三十天的备份。",
    ]
    data = pdf_with(cjk_font(tmp_path_factory), pages)
    files = [("files", ("manual.pdf", data, "application/pdf"))]
    reply = httpx.post(
        f"{server_url}/api/kbs/manuals/documents?rebuild=true", files=files, headers=auth
    )
    assert reply.status_code == 201, reply.text
    for _ in range(300):
        if httpx.get(f"{server_url}/api/kbs/manuals/rebuild").json()["state"] == "done":
            break
        time.sleep(0.2)

    page = open_page(locale="zh-CN")
    page.select_option("#kb-select", "manuals")
    ask(page, "网关在哪个端口上监听？")
    answer = page.locator("#conversation .msg--assistant").last
    expect(answer).to_contain_text("8443")
    answer.locator(".chip").first.click()
    expect(page.locator("#passage-source")).to_contain_text("第 2 页")
    shown = page.locator("#passage-text.passage__text--document")
    expect(shown).to_contain_text("修改配置后需要重启网关。")
    expect(shown).not_to_contain_text("安装程序")  # its page only, not the document
    expect(page.locator("#passage-text .cited mark")).to_contain_text("8443")


DROP = """([files]) => {
  // What a browser sends when files are dragged from the desktop onto the zone.
  const data = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    data.items.add(new File([bytes], name, { type: "application/pdf" }));
  }
  const zone = document.getElementById("kb-drop");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: data, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


def test_dropped_files_are_uploaded_rebuilt_and_listed(
    open_page: OpenPage, server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(f"{server_url}/api/kbs", json={"name": "dropped"}, headers=auth).is_success
    font = cjk_font(tmp_path_factory)
    files = [
        ("plan.pdf", pdf_with(font, ["第一阶段：需求调研。", "第二阶段：原型设计。"])),
        ("rules.pdf", pdf_with(font, ["会议室须提前一天预约。"])),
    ]
    page = open_page(locale="zh-CN")
    page.evaluate("(token) => sessionStorage.setItem('notesqa.adminToken', token)", TOKEN)
    page.select_option("#kb-select", "dropped")
    expect(page.locator("#kb-state")).to_contain_text("还没有文档")

    encoded = [[name, base64.b64encode(data).decode("ascii")] for name, data in files]
    with page.expect_request("**/api/kbs/dropped/documents?rebuild=true") as upload:
        page.evaluate(DROP, [encoded])
    assert upload.value.method == "POST"
    message = page.locator("#kb-message")
    expect(message).to_contain_text("索引已重建：新增 2", timeout=60_000)

    # The rebuild button: an incremental rebuild with nothing changed, its stages drawn.
    with page.expect_request("**/api/kbs/dropped/rebuild") as rebuild:
        page.click("#kb-rebuild")
    assert rebuild.value.method == "POST"
    expect(message).to_contain_text("索引已重建：新增 0，更新 0，移除 0", timeout=60_000)
    expect(page.locator("#kb-progress .stage")).to_have_count(3)
    expect(page.locator("#kb-rebuild")).to_be_enabled()

    rows = page.locator("#kb-list .doc")
    expect(rows.locator(".doc__file")).to_have_text(["plan.pdf", "rules.pdf"])
    for row, pages in zip(rows.all(), (2, 1), strict=True):
        expect(row).to_have_attribute("data-status", "indexed")
        expect(row.locator(".doc__meta").first).to_contain_text(re.compile(r"\d+ 个片段"))
        expect(row.locator(".doc__meta").first).to_contain_text(f"{pages} 页")
        expect(row.locator("time")).to_contain_text("索引于")
        assert row.locator("time").get_attribute("datetime")
