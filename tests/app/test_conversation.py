from __future__ import annotations

from typing import Any

from app.conversation import needs_context, standalone_question
from app.llm.base import Message

HISTORY = [Message("user", "GLM-130B 是谁开发的？"), Message("assistant", "清华团队[1]。")]


def test_follow_ups_are_recognised() -> None:
    assert needs_context("它的参数量呢？")
    assert needs_context("参数量？")
    assert needs_context("What about its size?")
    assert not needs_context("FlashAttention 是如何减少显存读写的？")
    assert not needs_context("How many e-books does BookCorpus contain?")


def test_standalone_questions_are_not_rewritten(scripted: Any) -> None:
    question = "BookCorpus 包含多少本电子书？"
    assert standalone_question(question, HISTORY, generator=scripted) == question
    assert scripted.requests == []


def test_follow_up_rewritten_by_the_model(scripted: Any) -> None:
    scripted.reply = "GLM-130B 的参数量是多少？\n(extra line ignored)"
    assert standalone_question("它的参数量呢？", HISTORY, generator=scripted) == (
        "GLM-130B 的参数量是多少？"
    )
    prompt = scripted.requests[0].messages[-1].content
    assert "GLM-130B 是谁开发的？" in prompt and "它的参数量呢？" in prompt


def test_without_a_model_the_previous_question_is_kept(scripted: Any) -> None:
    scripted.name = "extractive"
    assert standalone_question("它的参数量呢？", HISTORY, generator=scripted) == (
        "GLM-130B 是谁开发的？ 它的参数量呢？"
    )
    assert standalone_question("它的参数量呢？", [], generator=scripted) == "它的参数量呢？"
