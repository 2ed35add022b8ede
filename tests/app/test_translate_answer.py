"""An answer is translated a line at a time, its list markers kept and lines with nothing
to translate passed on (the LLM is scripted: only what it is asked, and what becomes of
its replies, is under test; the slow tests translate with the real model)."""

from __future__ import annotations

import threading
from typing import Any

from app.translate import translate_answer

DRAFT = (
    "训练大模型可以用这些库：\n"
    "\n"
    "1. Transformers\n"
    "2. **DeepSpeed**：微软的训练库 [1]\n"
    "- Megatron-LM\n"
    "这些库都是开源的。 [1]"
)
ENGLISH = {
    "训练大模型可以用这些库：": "These libraries can train large models:",
    "**DeepSpeed**：微软的训练库 [1]": "**DeepSpeed**: Microsoft's training library [1]",
    "这些库都是开源的。 [1]": "Translation: These libraries are all open source. [1]\nNote: done.",
}


def _by_line(scripted: Any) -> Any:
    scripted.reply = lambda request: ENGLISH[request.messages[-1].content]
    return scripted


def test_each_line_is_translated_on_its_own_and_the_list_survives(scripted: Any) -> None:
    text = "".join(translate_answer(_by_line(scripted), DRAFT, "en"))
    assert text == (
        "These libraries can train large models:\n"
        "\n"
        "1. Transformers\n"
        "2. **DeepSpeed**: Microsoft's training library [1]\n"
        "- Megatron-LM\n"
        "These libraries are all open source. [1]"
    )
    # The label went, and the model was stopped at the end of its first line.
    assert scripted.stopped == 1
    # Three lines hold Chinese; the names, the blank line and the markers were not sent.
    asked = [r.messages[-1].content for r in scripted.requests]
    assert asked == list(ENGLISH)
    assert all(
        r.messages[0].content.startswith("Translate the user's text into English")
        for r in scripted.requests
    )


def test_a_line_the_model_leaves_empty_stays_as_drafted(scripted: Any) -> None:
    scripted.reply = ""
    assert "".join(translate_answer(scripted, "它有 70B 参数。 [1]", "en")) == "它有 70B 参数。 [1]"
    scripted.reply = "翻译：70B. [1]"  # shorter than a label can be told from, and labelled
    assert "".join(translate_answer(scripted, "- 它有 70B 参数。 [1]", "en")) == "- 70B. [1]"


def test_into_chinese_only_english_phrases_are_translated_and_never_code(scripted: Any) -> None:
    scripted.reply = "break 语句终止最内层的循环。 [1]"
    code = "```python\nfor item in items: break  # leave the loop now\n```"
    draft = f"The break statement terminates the nearest enclosing loop. [1]\n1. GLM-130B\n{code}"
    text = "".join(translate_answer(scripted, draft, "zh"))
    assert text == f"break 语句终止最内层的循环。 [1]\n1. GLM-130B\n{code}"
    assert len(scripted.requests) == 1


def test_a_cancelled_answer_stops_between_lines(scripted: Any) -> None:
    cancel = threading.Event()
    pieces = translate_answer(_by_line(scripted), DRAFT, "en", cancel=cancel)
    first = ""
    while not first.endswith("\n"):  # the first line streams in pieces
        first += next(pieces)
    assert first == "These libraries can train large models:\n"
    cancel.set()
    assert list(pieces) == ["\n", "1. Transformers\n"]  # nothing more is asked of the model
    assert len(scripted.requests) == 1


def test_closing_mid_line_stops_the_model(scripted: Any) -> None:
    pieces = translate_answer(_by_line(scripted), DRAFT, "en")
    assert next(pieces) == "These libraries ca"  # the first line, still being written
    pieces.close()  # the client hung up
    assert scripted.stopped == 1
