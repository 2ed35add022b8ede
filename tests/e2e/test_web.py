"""The chat page in a real Chromium against the real server (extractive generator, no LLM).

Answers are real and deterministic: the extractive generator streams the best supporting
sentences of the retrieved passages with [n] citations. Only what the server cannot be
made to do on demand (drop the connection, fail mid-stream, hang) is played by routing
the browser's request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTES = sorted(p.name for p in (ROOT / "notes").iterdir() if p.is_file())

ANSWERABLE = "外挂知识库的具体流程是什么？"
FOLLOW_UP = "微调有哪几种方法？"
UNANSWERABLE = "FlashAttention 是如何减少显存读写的？"

OpenPage = Callable[..., Page]


def ask(page: Page, question: str) -> Locator:
    """Type ``question``, press Enter and wait until its answer has ended."""
    answers = page.locator("#conversation .msg--assistant")
    before = answers.count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = answers.nth(before)
    expect(answer).to_have_attribute("aria-busy", "false")
    return answer


def sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_answer_streams_with_citations_that_open_their_passage(
    open_page: OpenPage, server_url: str
) -> None:
    page = open_page(locale="zh-CN", width=1280, height=800)
    with page.expect_request("**/api/ask") as request:
        answer = ask(page, ANSWERABLE)
    body = request.value.post_data_json
    assert body == {"question": ANSWERABLE, "kb": "default", "history": [], "stream": True}
    response = request.value.response()
    assert response is not None
    assert response.headers["content-type"].startswith("text/event-stream")

    expect(answer).to_have_attribute("data-state", "done")
    assert int(answer.get_attribute("data-tokens") or 0) > 1, "the answer did not stream"
    expect(answer.locator(".msg__body")).not_to_be_empty()
    expect(page.locator("#timings")).to_contain_text("总计")

    # The same question without streaming gives the same (deterministic) sources.
    reply = httpx.post(f"{server_url}/api/ask", json={"question": ANSWERABLE}, timeout=30).json()
    sources = {source["n"]: source for source in reply["sources"]}
    cite = answer.locator("button.cite").first
    source = sources[int(cite.get_attribute("data-n") or 0)]
    cite.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    expect(page.locator("#passage-title")).to_have_text(f"出处 [{source['n']}]")
    expect(page.locator("#passage-source .passage__file")).to_have_attribute(
        "title", source["source"]
    )
    assert source["source"] in NOTES
    expect(page.locator("#passage-heading")).to_have_text(source["heading"])
    # The passage is shown in its document: the whole text, the cited chunk set off, the
    # supporting sentence marked and scrolled to.
    document = httpx.get(
        f"{server_url}/api/kbs/default/documents/{source['document_id']}/text"
    ).json()
    expect(page.locator("#passage-text.passage__text--document")).to_have_text(document["text"])
    expect(page.locator("#passage-text .cited")).to_have_text(source["text"])
    mark = page.locator("#passage-text .cited mark")
    expect(mark).to_be_in_viewport()
    assert source["quote_end"] > source["quote_start"]
    expect(mark).to_have_text(source["text"][source["quote_start"] : source["quote_end"]])
    expect(cite).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(cite).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(mark).to_be_visible()


def test_earlier_turns_are_sent_as_history_until_new_chat(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")
    expect(ask(page, UNANSWERABLE)).to_have_attribute("data-state", "refused")
    with page.expect_request("**/api/ask") as request:
        ask(page, ANSWERABLE)
    # A refused turn is left out: it says nothing the next question could build on.
    assert request.value.post_data_json["history"] == []
    with page.expect_request("**/api/ask") as request:
        ask(page, FOLLOW_UP)
    history = request.value.post_data_json["history"]
    assert [turn["role"] for turn in history] == ["user", "assistant"]
    assert history[0]["content"] == ANSWERABLE
    assert re.search(r"\[\d+\]", history[1]["content"]), history[1]

    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#conversation .msg")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#question")).to_be_focused()
    with page.expect_request("**/api/ask") as request:
        ask(page, FOLLOW_UP)
    assert request.value.post_data_json["history"] == []


def test_unanswerable_question_is_shown_as_not_in_the_knowledge_base(
    open_page: OpenPage,
) -> None:
    page = open_page(locale="zh-CN")
    answer = ask(page, UNANSWERABLE)
    expect(answer).to_have_attribute("data-state", "refused")
    expect(answer.locator(".msg__label")).to_have_text("知识库中没有相关内容")
    expect(answer.locator(".msg__body")).not_to_be_empty()
    expect(answer.locator("[role=alert]")).to_have_count(0)
    expect(answer.locator("button.cite")).to_have_count(0)


def test_knowledge_base_panel_lists_the_notes(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")
    expect(page.locator("#kb")).to_be_visible()
    expect(page.locator("#kb-list .doc__file")).to_have_text(NOTES)
    metas = page.locator("#kb-list .doc").all_inner_texts()
    chunks = [int(re.search(r"(\d+) chunks", meta).group(1)) for meta in metas]  # type: ignore[union-attr]
    assert all(c > 0 for c in chunks)
    assert all("indexed" in meta for meta in metas)
    # The status line counts the same index.
    expect(page.locator("#status")).to_contain_text(
        f"{len(NOTES)} documents · {sum(chunks)} chunks"
    )


@pytest.mark.parametrize(
    ("locale", "lang", "send", "knowledge_base", "placeholder", "documents"),
    [
        ("en-US", "en", "Send", "Knowledge base", "Ask a question", "5 documents"),
        ("zh-CN", "zh-CN", "发送", "知识库", "输入问题", "5 篇文档"),
        # Traditional script (and Taiwan's words) for a zh-TW browser
        ("zh-TW", "zh-TW", "傳送", "知識庫", "輸入問題", "5 篇文件"),
    ],
)
def test_interface_language_follows_the_browser(
    open_page: OpenPage,
    locale: str,
    lang: str,
    send: str,
    knowledge_base: str,
    placeholder: str,
    documents: str,
) -> None:
    page = open_page(locale=locale)
    assert page.evaluate("document.documentElement.lang") == lang
    expect(page.locator("#send")).to_have_text(send)
    expect(page.locator("#kb-title")).to_have_text(knowledge_base)
    assert (page.locator("#question").get_attribute("placeholder") or "").startswith(placeholder)
    expect(page.locator("#status")).to_contain_text(documents)


def test_phone_width_uses_drawers_and_never_scrolls_sideways(open_page: OpenPage) -> None:
    page = open_page(locale="zh-CN", width=375, height=740)
    width = "document.documentElement.scrollWidth"
    assert page.evaluate(width) <= 375

    kb = page.locator("#kb")
    expect(kb).to_be_hidden()
    page.click("#kb-toggle")
    expect(kb).to_be_visible()
    expect(kb.locator(".doc")).to_have_count(len(NOTES))
    page.keyboard.press("Escape")
    expect(kb).to_be_hidden()
    expect(page.locator("#kb-toggle")).to_be_focused()

    answer = ask(page, ANSWERABLE)
    answer.locator("button.cite").first.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 375  # a sheet, full width
    expect(page.locator("#passage-text mark")).to_be_in_viewport()
    assert page.evaluate(width) <= 375
    page.click("#passage-close")
    expect(panel).to_be_hidden()


def test_server_error_is_shown_with_its_message(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")
    answer = ask(page, "x" * 2001)  # over answer.max_question_chars (2000)
    expect(answer).to_have_attribute("data-state", "error")
    alert = answer.locator("[role=alert]")
    expect(alert).to_contain_text("413")
    expect(alert).to_contain_text("too long")
    expect(alert).to_contain_text("2000")
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator("#stop")).to_be_hidden()


def test_connection_failures_and_stream_errors_are_readable(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")

    page.route("**/api/ask", lambda route: route.abort("connectionrefused"))
    answer = ask(page, "Is the server up?")
    expect(answer.locator("[role=alert]")).to_contain_text("Cannot reach the server")
    page.unroute("**/api/ask")

    # A mid-stream failure keeps what arrived; model text never becomes HTML.
    body = sse(
        ("token", {"text": '<img src=x onerror="window.pwned=1"> **bold** '}),
        ("token", {"text": "<script>window.pwned=2</script>"}),
        ("error", {"error": {"code": "generation_failed", "message": "the model crashed"}}),
    )
    page.route("**/api/ask", lambda route: _stream(route, body))
    answer = ask(page, "Fail midway")
    expect(answer).to_have_attribute("data-state", "partial-error")
    expect(answer.locator("[role=alert]")).to_contain_text("the model crashed")
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator(".msg__body")).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert answer.locator("img, script").count() == 0
    assert page.evaluate("window.pwned") is None
    page.unroute("**/api/ask")

    # A stream that ends without its final event is not a silent hang either.
    page.route("**/api/ask", lambda route: _stream(route, sse(("token", {"text": "Half"}))))
    answer = ask(page, "Cut me off")
    expect(answer.locator("[role=alert]")).to_contain_text("connection closed")
    expect(answer.locator(".msg__body")).to_have_text("Half")


def test_passage_offsets_pages_and_flags_from_the_final_event(open_page: OpenPage) -> None:
    """Contract details the bundled .txt notes never produce: pages, astral characters
    before the quote (offsets count Python characters), unknown quotes, a flagged answer."""
    page = open_page(locale="en-US")
    text_1 = "🙂 Intro. The quoted claim is here. Outro."
    start_1 = len("🙂 Intro. ")
    text_2 = "Other passage. Dense retrieval uses embeddings. More."
    answer = "The claim is here [1]. Dense retrieval uses embeddings. [2]"
    final = {
        "answer": answer,
        "refused": False,
        "flagged": True,
        "model": "scripted",
        "timings": {"retrieve": 0.01, "total": 0.5},
        "sources": [
            {"n": 1, "source": "a.pdf", "page": 3, "heading": "A > B", "chunk_id": "a-1",
             "start": 0, "end": 40, "text": text_1, "quote_start": start_1,
             "quote_end": start_1 + len("The quoted claim is here.")},
            {"n": 2, "source": "b.md", "page": None, "heading": "", "chunk_id": "b-1",
             "start": 0, "end": 50, "text": text_2, "quote_start": 0, "quote_end": 0},
        ],
    }  # fmt: skip
    body = sse(("token", {"text": answer[:20]}), ("token", {"text": answer[20:]}), ("done", final))
    page.route("**/api/ask", lambda route: _stream(route, body))
    reply = ask(page, "Scripted")
    expect(reply.locator(".msg__notice")).to_contain_text("may not be supported")
    expect(page.locator("#timings")).to_have_text("Last answer: retrieve 10 ms · total 500 ms")

    reply.locator("button.cite[data-n='1']").click()
    expect(page.locator("#passage-source")).to_contain_text("page 3")
    expect(page.locator("#passage-text mark")).to_have_text("The quoted claim is here.")
    # Unknown quote (equal offsets): the sentence the answer cites as [2] is highlighted.
    reply.locator(".chip[data-n='2']").click()
    expect(page.locator("#passage-source")).to_have_text("b.md")
    expect(page.locator("#passage-heading")).to_be_hidden()
    expect(page.locator("#passage-text mark")).to_have_text("Dense retrieval uses embeddings.")


MARKDOWN = """First **bold [1]** and `<i>code</i>`.
Second line [2, 3]

- one
- two

3. three
4. four

```python
<script>alert(1)</script>
```
<img src=x onerror=alert(1)>"""
RENDERED = (
    "<p>First <strong>bold <button>1</button></strong> and <code>&lt;i&gt;code&lt;/i&gt;</code>."
    "<br>Second line <button>2</button><button>3</button></p>"
    "<ul><li>one</li><li>two</li></ul>"
    '<ol start="3"><li>three</li><li>four</li></ol>'
    '<pre><code class="language-python">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>'
    "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
)


def rendered(page: Page, text: str) -> str:
    """The page's renderer's output for ``text``, citations as plain buttons."""
    html: str = page.evaluate(
        """async (text) => {
            const { renderMarkdown } = await import("/static/markdown.js");
            const citation = (n) => Object.assign(document.createElement("button"), {
                textContent: n,
            });
            const box = document.createElement("div");
            box.append(renderMarkdown(text, { citation }));
            return box.innerHTML;
        }""",
        text,
    )
    return html


def test_markdown_renderer_covers_the_basics_and_never_makes_html(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")
    assert rendered(page, MARKDOWN) == RENDERED


def test_stop_aborts_the_request(open_page: OpenPage) -> None:
    page = open_page(locale="en-US")
    held: list[Route] = []
    page.route("**/api/ask", lambda route: held.append(route))  # never answered
    page.fill("#question", "Never answered")
    page.press("#question", "Enter")
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    expect(page.locator(".thinking")).to_be_visible()
    stop.click()
    answer = page.locator("#conversation .msg--assistant").last
    expect(answer).to_have_attribute("data-state", "stopped")
    expect(answer.locator(".msg__label")).to_have_text("Stopped")
    expect(page.locator("#send")).to_be_visible()
    assert len(held) == 1


def _stream(route: Route, body: str) -> None:
    route.fulfill(status=200, headers={"content-type": "text/event-stream"}, body=body)


TABLE = """参数规模如下 [1]：
| 模型 | 参数量 | 备注 |
| :--- | ---: | :---: |
| LLaMA | 7B/13B | **开源** [2] |
| <img src=x onerror="window.pwned=3"> | a \\| b | `<b>x</b>` |
| 只有一格 |
不是表格的一行"""
TABLE_RENDERED = (
    "<p>参数规模如下 <button>1</button>：</p>"
    '<div class="md-table" tabindex="0"><table><thead><tr>'
    '<th scope="col" style="text-align: left;">模型</th>'
    '<th scope="col" style="text-align: right;">参数量</th>'
    '<th scope="col" style="text-align: center;">备注</th></tr></thead><tbody>'
    '<tr><td style="text-align: left;">LLaMA</td><td style="text-align: right;">7B/13B</td>'
    '<td style="text-align: center;"><strong>开源</strong> <button>2</button></td></tr>'
    '<tr><td style="text-align: left;">&lt;img src=x onerror="window.pwned=3"&gt;</td>'
    '<td style="text-align: right;">a | b</td>'
    '<td style="text-align: center;"><code>&lt;b&gt;x&lt;/b&gt;</code></td></tr>'
    '<tr><td style="text-align: left;">只有一格</td><td style="text-align: right;"></td>'
    '<td style="text-align: center;"></td></tr>'
    "</tbody></table></div>"
    "<p>不是表格的一行</p>"
)


def test_markdown_tables_render_as_tables_of_text(open_page: OpenPage) -> None:
    """Answers over table chunks come back as Markdown tables: rendered as a table whose
    cells hold text nodes only (hostile cells stay text), columns as the header says."""
    page = open_page(locale="en-US")
    assert rendered(page, TABLE) == TABLE_RENDERED
    assert page.evaluate("window.pwned") is None
