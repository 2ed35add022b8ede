from __future__ import annotations

from typing import Any

from app.conversation import (
    follow_up_queries,
    needs_context,
    plausible_rewrite,
)
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
    assert follow_up_queries(question, HISTORY, generator=scripted)[0] == question
    assert scripted.requests == []


def test_follow_up_rewritten_by_the_model(scripted: Any) -> None:
    scripted.reply = "GLM-130B 的参数量是多少？\n(extra line ignored)"
    assert follow_up_queries("它的参数量呢？", HISTORY, generator=scripted)[0] == (
        "GLM-130B 的参数量是多少？"
    )
    prompt = scripted.requests[0].messages[-1].content
    assert "GLM-130B 是谁开发的？" in prompt and "它的参数量呢？" in prompt


def test_without_a_model_the_previous_question_is_kept(scripted: Any) -> None:
    scripted.writes_text = False  # a backend that can only copy sentences
    assert follow_up_queries("它的参数量呢？", HISTORY, generator=scripted)[0] == (
        "GLM-130B 是谁开发的？ 它的参数量呢？"
    )
    assert follow_up_queries("它的参数量呢？", [], generator=scripted)[0] == "它的参数量呢？"


def test_a_good_rewrite_is_searched_alone(scripted: Any) -> None:
    scripted.reply = "GLM-130B 的参数量是多少？"
    assert follow_up_queries("它的参数量呢？", HISTORY, generator=scripted) == [
        "GLM-130B 的参数量是多少？"
    ]
    scripted.writes_text = False  # no model to rewrite with: the joined form
    assert follow_up_queries("它的参数量呢？", HISTORY, generator=scripted) == [
        "GLM-130B 是谁开发的？ 它的参数量呢？"
    ]


def test_a_rewrite_that_answers_or_still_points_back_is_not_used(scripted: Any) -> None:
    # What the default 1.5B model wrote for dev-set follow-ups (README "Follow-ups").
    question = "它当时用了什么硬件训练？"
    searched = [question, "GLM-130B 是谁开发的？ 它当时用了什么硬件训练？"]
    scripted.reply = "它当时用了GPU训练，训练成本大概在几百万美元左右。"  # an answer
    assert follow_up_queries(question, HISTORY, generator=scripted) == searched
    scripted.reply = "它当时用了什么硬件训练？"  # unchanged
    assert follow_up_queries(question, HISTORY, generator=scripted) == searched
    assert plausible_rewrite("它的参数量呢？", "GLM-130B 的参数量是多少？")
    assert not plausible_rewrite("它的参数量呢？", "那它的参数量是多少？")
    # The pronoun dropped with its subject: nothing of the conversation came in.
    context = "外挂知识库的具体流程是什么？ 加载文件，读取文本，文本分割[1]。"
    assert not plausible_rewrite("它的优点和缺点是什么？", "优点和缺点是什么？", context=context)
    assert plausible_rewrite(
        "它的优点和缺点是什么？", "外挂知识库的优点和缺点是什么？", context=context
    )
    assert not plausible_rewrite(
        "它的优点和缺点是什么？", "量子计算的优点和缺点是什么？", context=context
    )


def test_only_the_start_of_a_long_previous_question_reaches_retrieval(scripted: Any) -> None:
    # A 20,000-character turn once cost 41-46 s of retrieval (README "Running it for a team").
    subject = "GLM-130B 的训练" + "细" * 288  # 300 characters
    history = [Message("user", subject + "尾" * 19_700), Message("assistant", "好的[1]。")]
    scripted.reply = "它的参数量呢？"  # a rewrite that still points back: not used
    for writes_text in (True, False):
        scripted.writes_text = writes_text
        queries = follow_up_queries("它的参数量呢？", history, generator=scripted)
        assert queries[-1] == f"{subject} 它的参数量呢？"
        assert all("尾" not in q and len(q) <= 300 + 1 + len("它的参数量呢？") for q in queries)
