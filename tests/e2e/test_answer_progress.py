"""Honest progress and no silent changes, in a real Chromium against a real uvicorn server.

The generator is the scripted fake from tests/conftest.py (the browser tests run without
a model): it can hold generation at a gate, which is the one thing needed here, a stage
that lasts long enough to be seen. Everything else is real: the index, retrieval, the
checks that change or withdraw an answer, the SSE stream and the page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from live import Server
from playwright.sync_api import Page, expect

from app.settings import Settings

pytestmark = pytest.mark.browser

ANSWERABLE = "外挂知识库的具体流程是什么？"
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"


@pytest.fixture
def served(notes_settings: Settings, scripted: Any) -> Iterator[Server]:
    with Server(notes_settings, scripted) as server:
        yield server


@pytest.fixture
def page(browser: Any, served: Server) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(served.url)
    page.wait_for_selector("#kb-list .doc", state="attached")
    yield page
    context.close()
    assert not problems, problems


def _ask(page: Page, question: str) -> Any:
    page.fill("#question", question)
    page.press("#question", "Enter")
    return page.locator("#conversation .msg--assistant").last


def test_the_stage_and_the_time_show_until_the_first_word(page: Page, scripted: Any) -> None:
    scripted.reply = GROUNDED
    scripted.gate = threading.Event()  # the model "reads the prompt" until released
    answer = _ask(page, ANSWERABLE)
    expect(answer.locator(".thinking__stage")).to_have_text("模型正在阅读资料…")
    expect(answer).to_have_attribute("data-stage", "read")
    expect(answer.locator(".thinking__clock")).to_have_text(re.compile(r"^\d+\.\d 秒$"))
    first = answer.locator(".thinking__clock").inner_text()
    expect(answer.locator(".thinking__clock")).not_to_have_text(first)  # it counts
    assert answer.get_attribute("data-tokens") == "0"
    scripted.gate.set()
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer).to_have_attribute("data-stage", "generate")  # announced before the words
    expect(answer.locator(".msg__body")).to_contain_text("文本向量化")
    expect(answer.locator(".msg__change")).to_be_hidden()  # nothing was changed


def test_a_follow_up_shows_the_question_it_was_searched_as(page: Page, scripted: Any) -> None:
    rewritten = "外挂知识库的流程中，文本分割之后做什么？"
    scripted.reply = lambda r: GROUNDED if r.passages else rewritten
    expect(_ask(page, ANSWERABLE)).to_have_attribute("data-state", "done")
    answer = _ask(page, "那它之后呢？")
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer.locator(".msg__rewrite")).to_contain_text(f"检索：{rewritten}")
    answer.locator(".msg__rewrite").get_by_role("button", name="编辑后重新提问").click()
    expect(page.locator("#question")).to_have_value(rewritten)
    expect(page.locator("#question")).to_be_focused()


def test_an_answer_the_checks_change_is_replaced_visibly(page: Page, scripted: Any) -> None:
    scripted.reply = GROUNDED + "另见[9]。"  # [9] cites no passage: the check removes it
    answer = _ask(page, ANSWERABLE)
    expect(answer).to_have_attribute("data-state", "done")
    expect(answer).to_have_attribute("data-changed", "replaced")
    change = answer.locator(".msg__change")
    expect(change).to_contain_text("已根据笔记核对")
    expect(change.locator(".msg__streamed")).to_be_hidden()
    change.locator("summary").click()
    expect(change.locator(".msg__streamed")).to_have_text(GROUNDED + "另见[9]。")
    expect(answer.locator(".msg__body")).not_to_contain_text("[9]")


def test_a_withdrawn_answer_says_so_and_why(page: Page, scripted: Any) -> None:
    invented = "火星上共有三座城市，总人口约一百万人[1]。"
    scripted.reply = invented
    answer = _ask(page, ANSWERABLE)
    expect(answer).to_have_attribute("data-state", "refused")
    expect(answer).to_have_attribute("data-changed", "withdrawn")
    change = answer.locator(".msg__change")
    expect(change).to_contain_text("流式输出的回答已撤回")
    change.locator("summary").click()
    expect(change.locator(".msg__change-why")).to_contain_text("原因：")
    expect(change.locator(".msg__streamed")).to_have_text(invented)


def test_a_refusal_says_why_shows_the_closest_passages_and_offers_a_way_on(
    page: Page, scripted: Any
) -> None:
    question = "FlashAttention 是如何减少显存读写的？"
    answer = _ask(page, question)
    expect(answer).to_have_attribute("data-state", "refused")
    card = answer.locator(".msg__refusal")
    expect(card.locator(".refusal__why")).to_have_text("知识库中没有与这个问题足够相关的段落。")
    passages = card.locator(".refusal__passage")
    expect(passages).to_have_count(3)
    expect(passages.first.locator(".refusal__score")).to_have_text(re.compile(r"^相关度 \d+%$"))
    assert scripted.requests == []  # refused by retrieval: the model was never asked
    card.get_by_role("button", name="换个问法").click()
    expect(page.locator("#question")).to_have_value(question)
    card.get_by_role("button", name="检索文档").click()
    expect(page.locator("#hittest")).to_be_visible()
    expect(page.locator("#hittest-query")).to_have_value(question)
    expect(page.locator("#hittest-result .hittest__table")).to_be_visible()


def test_after_a_server_error_the_question_is_kept_and_retry_resends_it(
    page: Page, scripted: Any
) -> None:
    scripted.reply = GROUNDED
    failing = {"error": {"code": "busy", "message": "服务器正忙"}}
    page.route(
        "**/api/ask",
        lambda route: route.fulfill(status=503, json=failing),
    )
    failed = _ask(page, ANSWERABLE)
    expect(failed).to_have_attribute("data-state", "error")
    expect(failed.locator("[role=alert]")).to_contain_text("服务器正忙")
    expect(page.locator("#question")).to_have_value(ANSWERABLE)
    page.unroute("**/api/ask")
    with page.expect_request("**/api/ask") as request:
        failed.get_by_role("button", name="重试").click()
    assert request.value.post_data_json["question"] == ANSWERABLE
    answer = page.locator("#conversation .msg--assistant").last
    expect(answer).to_have_attribute("data-state", "done")
    expect(page.locator("#question")).to_have_value("")


def test_an_answer_can_be_copied_and_asked_again(page: Page, scripted: Any, served: Server) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    scripted.reply = GROUNDED
    answer = _ask(page, ANSWERABLE)
    expect(answer).to_have_attribute("data-state", "done")
    answer.get_by_role("button", name="复制").click()
    expect(answer.get_by_role("button", name="已复制")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == GROUNDED
    with page.expect_request("**/api/ask") as request:
        answer.get_by_role("button", name="重新回答").click()
    assert request.value.post_data_json["question"] == ANSWERABLE
    expect(page.locator("#conversation .msg--assistant")).to_have_count(2)
    expect(page.locator("#conversation .msg--assistant").last).to_have_attribute(
        "data-state", "done"
    )
