"""Example questions for the empty screen, from a knowledge base's headings."""

from __future__ import annotations

from app.examples import example_questions


def test_sections_of_different_documents_in_the_corpus_language() -> None:
    headings = [
        ("a.md", "LLM 调研"),
        ("a.md", "LLM 调研 > 1. 外挂知识库"),
        ("a.md", "LLM 调研 > 二、参考文献"),
        ("a.md", "LLM 调研 > 参考文献"),
        ("b.md", "大模型综述 > Chinchilla"),
        ("b.md", "大模型综述 > 目录"),
        ("c.md", "训练 > 没有卡的条件下我们能做什么?"),
        ("c.md", "训练 > Table 2"),
        ("d.md", "x"),
    ]
    assert example_questions(headings) == [
        "「外挂知识库」讲了什么？",  # the numbering is not part of its name
        "「Chinchilla」讲了什么？",  # a Chinese corpus asks in Chinese
        "没有卡的条件下我们能做什么?",  # already a question
        "「LLM 调研」讲了什么？",  # a document's title comes after its sections
    ]


def test_english_headings_and_none_at_all() -> None:
    headings = [("guide.md", "Install > Configure the gateway"), ("faq.md", "FAQ > References")]
    assert example_questions(headings) == [
        "What do the documents say about “Configure the gateway”?"
    ]
    assert example_questions([]) == []
