"""The prompt: system prompts per language, passages numbered within the context window."""

from __future__ import annotations

from collections.abc import Sequence

from app.llm.base import Generator, Message
from app.passages import Passage

# No "say you cannot answer" clause: with it the default 1.5B model declined a third of
# the answerable dev questions. Refusing is left to the retrieval gate (before the model)
# and the grounding check (after it); README "Answers".
SYSTEM_PROMPT = {
    "zh": (
        "你是一个知识库问答助手。根据下面编号的资料回答问题，用中文作答，"
        "简洁但要包含资料中与问题相关的全部要点，尽量使用资料中的原话，"
        "并在用到的句子后用 [1]、[2] 这样的编号注明出处。不要编造资料以外的内容。"
    ),
    "en": (
        "You answer questions from a knowledge base. Answer from the numbered passages below "
        "(they may be in Chinese; read them and answer in English). Be concise but include "
        "every relevant point, keep the passages' names and numbers, and cite the passages "
        "you use as [1], [2] after the sentences that use them. Do not add facts that are "
        "not in the passages."
    ),
}

# Only when a passage is a table (ingest.tables writes them as Markdown tables), so prose
# questions keep the prompt the figures were measured with; the page renders the table.
TABLE_HINT = {
    "zh": "\n（资料中有表格：答案包含多行多列的数据时，用 Markdown 表格作答，并注明出处。）",
    "en": "\n(Some passages are tables: when the answer holds rows and columns, answer "
    "with a Markdown table and cite it.)",
}


def build_prompt(
    question: str,
    lang: str,
    history: Sequence[Message],
    passages: list[Passage],
    *,
    generator: Generator,
    max_new_tokens: int,
    hint: str | None = None,
) -> tuple[list[Message], list[Passage]]:
    """Messages for the model, with as many passages as the context window holds."""
    gen = generator
    system = Message("system", SYSTEM_PROMPT[lang])
    turns = [Message(m.role, m.content) for m in history if m.role in ("user", "assistant")]
    asked = f"问题：{question}" if lang == "zh" else f"Question: {question}"
    # The question comes before the passages as well as after them: a small model
    # then reads the passages for it, and its answers kept more of their points
    # (dev set keyword hit, zh: 0.77 -> 0.80; README "Answers").
    head = f"{asked}\n\n" + ("资料：\n" if lang == "zh" else "Passages:\n")
    tail = "\n" + asked
    if hint:
        tail += f"\n（{hint}）" if lang == "zh" else f"\n(In the passages' language: {hint})"
    if lang == "en":
        tail += "\nAnswer in English."
    fixed = gen.count_tokens(system.content) + 8
    fixed += gen.count_tokens(head) + gen.count_tokens(tail)
    budget = gen.context_window - max_new_tokens - fixed - 64
    turns = _recent_turns(turns, budget // 2, gen)
    budget -= sum(gen.count_tokens(m.content) + 8 for m in turns)
    blocks: list[str] = []
    kept: list[Passage] = []
    for n, p in enumerate(passages, 1):
        label = f"[{n}] {p.source}" + (f" > {p.heading}" if p.heading else "")
        block = f"{label}\n{p.text}\n"
        cost = gen.count_tokens(block)
        if cost > budget:
            if budget > 50:  # what fits of this passage, cut between characters
                p.text = truncate_to_tokens(p.text, budget - gen.count_tokens(label) - 4, gen)
                blocks.append(f"{label}\n{p.text}\n")
                kept.append(p)
            break
        budget -= cost
        blocks.append(block)
        kept.append(p)
    if any(p.origin == "table" for p in kept):  # within the 64 tokens kept in hand above
        tail += TABLE_HINT[lang]
    user = Message("user", head + "\n".join(blocks) + tail)
    return [system, *turns, user], kept


def _recent_turns(turns: list[Message], budget: int, generator: Generator) -> list[Message]:
    """The latest turns within ``budget`` tokens, starting with a user turn.

    The passages come first: one earlier turn of the 8,000 characters ``limits`` allows
    once filled the whole window, and the answer had no passage to cite (a 500). Chat
    templates that want user and assistant to alternate get a user turn first.
    """
    kept: list[Message] = []
    spent = 0
    for turn in reversed(turns):
        spent += generator.count_tokens(turn.content) + 8
        if spent > budget:
            break
        kept.append(turn)
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def truncate_to_tokens(text: str, tokens: int, generator: Generator) -> str:
    """The longest prefix of ``text`` within ``tokens`` tokens (binary search on characters)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if generator.count_tokens(text[:mid]) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
