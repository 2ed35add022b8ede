from __future__ import annotations

import pytest

from app.llm.base import Message
from app.llm.prompts import estimate_tokens, format_raw_prompt, has_cjk, normalize_family

CHAT = [
    Message("system", "只根据资料回答。"),
    Message("user", "你好"),
    Message("assistant", "你好！"),
    Message("user", "FAISS 是什么？"),
]


def test_chatglm2_rounds_numbered_from_one() -> None:
    assert format_raw_prompt("chatglm2", CHAT) == (
        "只根据资料回答。\n\n"
        "[Round 1]\n\n问：你好\n\n答：你好！\n\n"
        "[Round 2]\n\n问：FAISS 是什么？\n\n答："
    )


def test_chatglm2_single_question_without_system() -> None:
    prompt = format_raw_prompt("chatglm2", [Message("user", "你好")])
    assert prompt == "[Round 1]\n\n问：你好\n\n答："


def test_baichuan2_reserved_tokens() -> None:
    assert format_raw_prompt("baichuan2", CHAT) == (
        "只根据资料回答。"
        "<reserved_106>你好<reserved_107>你好！"
        "<reserved_106>FAISS 是什么？<reserved_107>"
    )


def test_generic_fallback() -> None:
    assert format_raw_prompt("llama", CHAT) == (
        "System: 只根据资料回答。\n\n"
        "User: 你好\n\nAssistant: 你好！\n\n"
        "User: FAISS 是什么？\n\nAssistant:"
    )


def test_trailing_assistant_message_is_a_prefill() -> None:
    chat = [Message("user", "Q"), Message("assistant", "The answer is")]
    assert format_raw_prompt("chatglm2", chat) == "[Round 1]\n\n问：Q\n\n答：The answer is"
    assert format_raw_prompt("baichuan2", chat) == "<reserved_106>Q<reserved_107>The answer is"
    assert format_raw_prompt("generic", chat) == "User: Q\n\nAssistant: The answer is"


def test_consecutive_user_messages_merge_into_one_question() -> None:
    chat = [Message("user", "资料：……"), Message("user", "问题：为什么？")]
    assert (
        format_raw_prompt("chatglm2", chat) == "[Round 1]\n\n问：资料：……\n问题：为什么？\n\n答："
    )


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("chatglm2", "chatglm2"),
        ("THUDM/ChatGLM2-6B", "chatglm2"),
        ("Baichuan2-7B-Chat", "baichuan2"),
        ("baichuan-2", "baichuan2"),
        ("chatglm3-6b", "generic"),  # ChatGLM3 has its own format, not ChatGLM2's
        ("qwen2", "generic"),
    ],
)
def test_normalize_family(name: str, family: str) -> None:
    assert normalize_family(name) == family


def test_estimate_tokens_counts_cjk_characters_one_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("知识库") == 3
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("知识 base") == 2 + 2  # " base" is 5 characters -> 2 tokens


def test_has_cjk() -> None:
    assert has_cjk("什么是 FAISS?")
    assert not has_cjk("What is FAISS?")
