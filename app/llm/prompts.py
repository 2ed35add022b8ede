"""Raw-completion prompt formats for models whose tokenizer carries no chat template.

Older Chinese chat models (ChatGLM2, Baichuan2) shipped their chat format as Python code
(``build_prompt`` / ``build_chat_input``) instead of a Jinja ``chat_template``, so a
backend that only sees a plain completion interface has to rebuild it. The strings
follow the models' own code and FastChat's conversation templates.

A trailing assistant message is a prefill: the prompt ends inside that answer so the
model continues it. Otherwise every prompt ends with the assistant's cue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.llm.base import Message

FAMILIES = ("chatglm2", "baichuan2", "generic")

# Baichuan2's generation_config: user_token_id 195, assistant_token_id 196.
BAICHUAN2_USER = "<reserved_106>"
BAICHUAN2_ASSISTANT = "<reserved_107>"

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def format_raw_prompt(family: str, messages: Sequence[Message]) -> str:
    """The completion prompt for ``messages`` in ``family``'s format (unknown: generic)."""
    match normalize_family(family):
        case "chatglm2":
            return chatglm2_prompt(messages)
        case "baichuan2":
            return baichuan2_prompt(messages)
        case _:
            return generic_prompt(messages)


def normalize_family(family: str) -> str:
    """``"ChatGLM2-6B"``, ``"baichuan-2"`` -> ``"chatglm2"``, ``"baichuan2"``; else generic."""
    key = re.sub(r"[^a-z0-9]", "", family.lower())
    for known in ("chatglm2", "baichuan2"):
        if known in key:
            return known
    return "generic"


def chatglm2_prompt(messages: Sequence[Message]) -> str:
    """``[Round 1]\\n\\n问：...\\n\\n答：...`` rounds, numbered from 1 as ChatGLM2 does.

    ChatGLM2 has no system role; like FastChat, the system text leads the prompt.
    """
    system, rounds = _rounds(messages)
    out = [system + "\n\n"] if system else []
    for number, (question, answer) in enumerate(rounds, start=1):
        out.append(f"[Round {number}]\n\n问：{question}\n\n答：")
        if answer is not None:
            out.append(answer if number == len(rounds) else answer + "\n\n")
    return "".join(out)


def baichuan2_prompt(messages: Sequence[Message]) -> str:
    """System text, then ``<reserved_106>`` question ``<reserved_107>`` answer, unseparated."""
    system, rounds = _rounds(messages)
    out = [system]
    for question, answer in rounds:
        out.append(f"{BAICHUAN2_USER}{question}{BAICHUAN2_ASSISTANT}")
        if answer is not None:
            out.append(answer)
    return "".join(out)


def generic_prompt(messages: Sequence[Message]) -> str:
    """``System: ...`` / ``User: ...`` / ``Assistant: ...`` paragraphs, ending ``Assistant:``."""
    system, rounds = _rounds(messages)
    out = [f"System: {system}\n\n"] if system else []
    for number, (question, answer) in enumerate(rounds, start=1):
        out.append(f"User: {question}\n\nAssistant:")
        if answer is not None:
            out.append(f" {answer}" if number == len(rounds) else f" {answer}\n\n")
    return "".join(out)


def _rounds(messages: Sequence[Message]) -> tuple[str, list[tuple[str, str | None]]]:
    """System text and (question, answer) pairs; the last answer is None when it is due.

    Consecutive user messages merge into one question (these formats have no way to say
    "two user turns"), and an assistant message with no question before it gets an empty one.
    """
    system: list[str] = []
    rounds: list[tuple[str, str | None]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
        elif message.role == "user":
            if rounds and rounds[-1][1] is None:
                rounds[-1] = (rounds[-1][0] + "\n" + message.content, None)
            else:
                rounds.append((message.content, None))
        elif rounds and rounds[-1][1] is None:
            rounds[-1] = (rounds[-1][0], message.content)
        else:
            rounds.append(("", message.content))
    if not rounds:
        rounds.append(("", None))
    return "\n\n".join(system), rounds


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: each CJK character 1, other text about 4 characters each.

    For backends whose tokenizer is unknown (an OpenAI-compatible upstream) or absent
    (extractive); it errs high for CJK, which keeps prompt budgets on the safe side.
    """
    cjk = len(_CJK.findall(text))
    rest = len(text) - cjk
    return cjk + (rest + 3) // 4


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese, Japanese or Korean characters."""
    return _CJK.search(text) is not None
