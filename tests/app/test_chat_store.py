"""Conversations and feedback kept in SQLite (app.chat_store), and feedback turned into
evaluation items that `notesqa eval` loads (app.feedback_export)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app import chat_records, chat_store
from app.chat_store import ChatStore
from app.evaluate import load_set
from app.feedback_export import eval_items
from ingest.errors import ChatsUnavailableError, NotFoundError, TooLargeError


def reply(answer: str, *, refused: bool = False, quote: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    text = "LoRA 在冻结的预训练权重旁加入低秩矩阵，只训练这些矩阵。"
    return {
        "answer": answer,
        "refused": refused,
        "sources": []
        if refused
        else [
            {
                "n": 1,
                "source": "lora.md",
                "text": text,
                "quote_start": quote[0],
                "quote_end": quote[1],
            }
        ],
    }


def test_a_conversation_is_kept_turn_by_turn_and_read_back(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "kb" / "conversations.sqlite")
    made = store.create("", "LoRA 是什么？\n请简单说")
    assert made.title == "LoRA 是什么？ 请简单说" and made.turns == 0
    first = store.add_turn("", made.id, "LoRA 是什么？", reply("低秩适配 [1]"))
    second = store.add_turn("", made.id, "它的缺点呢？", reply("推理时要合并 [1]"))
    conversation, turns = store.get("", made.id)
    assert conversation.turns == 2
    assert [t.id for t in turns] == [first.id, second.id]
    assert turns[1].reply["answer"] == "推理时要合并 [1]"
    assert turns[0].reply["sources"][0]["source"] == "lora.md"

    assert store.rename("", made.id, "  LoRA\t笔记 ").title == "LoRA 笔记"
    other = store.create("", "第二个对话")
    store.add_turn("", made.id, "再问一个", reply("好 [1]"))  # continued: listed first
    assert [c.id for c in store.conversations("")] == [made.id, other.id]

    # Edited and asked again from the second turn: it and every later one go.
    assert store.truncate("", made.id, second.id) == 2
    assert [t.question for t in store.get("", made.id)[1]] == ["LoRA 是什么？"]

    store.delete("", made.id)
    assert [c.id for c in store.conversations("")] == [other.id]
    with pytest.raises(NotFoundError):
        store.get("", made.id)


def test_another_key_sees_none_of_them(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "conversations.sqlite")
    mine = store.create("alice", "问题")
    turn = store.add_turn("alice", mine.id, "问题", reply("答 [1]"))
    assert store.conversations("bob") == []
    for call in (
        lambda: store.get("bob", mine.id),
        lambda: store.rename("bob", mine.id, "x"),
        lambda: store.delete("bob", mine.id),
        lambda: store.add_turn("bob", mine.id, "q", {}),
        lambda: store.truncate("bob", mine.id, turn.id),
        lambda: store.rate("bob", mine.id, turn.id, "up", ""),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.get("alice", mine.id)[0].turns == 1


def test_feedback_is_kept_changed_and_cleared(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "conversations.sqlite")
    made = store.create("", "q")
    turn = store.add_turn("", made.id, "q", reply("a [1]"))
    rated = store.rate("", made.id, turn.id, "down", "数字不对")
    assert (rated.rating, rated.comment) == ("down", "数字不对") and rated.rated_at
    assert store.get("", made.id)[1][0].as_dict()["feedback"]["comment"] == "数字不对"
    store.rate("", made.id, turn.id, None, "ignored")
    assert store.get("", made.id)[1][0].as_dict()["feedback"] is None
    with pytest.raises(NotFoundError):
        store.rate("", made.id, "no-such-turn", "up", "")


def test_limits_on_conversations_and_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_store, "MAX_CONVERSATIONS", 2)
    monkeypatch.setattr(chat_store, "MAX_TURNS", 1)
    store = ChatStore(tmp_path / "conversations.sqlite")
    made = store.create("", "a")
    store.create("", "b")
    with pytest.raises(TooLargeError, match="delete some"):
        store.create("", "c")
    assert len(store.create("other", "c").id) == 32  # counted per key
    store.add_turn("", made.id, "q", {})
    with pytest.raises(TooLargeError, match="new one"):
        store.add_turn("", made.id, "q", {})


def test_a_store_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    off = ChatStore(tmp_path / "conversations.sqlite", enabled=False)
    with pytest.raises(ChatsUnavailableError, match=r"server\.conversations: browser"):
        off.conversations("")
    # (Tests run as root, so a read-only folder cannot be made: a file where the folder
    # should be fails the same way, at the same place.)
    (tmp_path / "blocked").write_text("not a folder")
    blocked = ChatStore(tmp_path / "blocked" / "conversations.sqlite")
    with pytest.raises(ChatsUnavailableError, match=r"the page keeps them in the browser"):
        blocked.create("", "q")
    assert not off.path.exists()


def test_feedback_exports_as_items_notesqa_eval_loads(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "conversations.sqlite")
    made = store.create("", "LoRA 是什么？")
    quote = (0, len("LoRA 在冻结的预训练权重旁加入低秩矩阵"))
    first = store.add_turn("", made.id, "LoRA 是什么？", reply("低秩矩阵 [1]", quote=quote))
    second = store.add_turn("", made.id, "它的缺点呢？", reply("", refused=True))
    third = store.add_turn("", made.id, "What is QLoRA?", reply("LoRA plus 4-bit [1]"))
    store.add_turn("", made.id, "没有评价的问题", reply("x [1]"))
    store.rate("", made.id, first.id, "up", "")
    store.rate("", made.id, second.id, "up", "笔记里确实没有")
    store.rate("", made.id, third.id, "down", "答非所问")

    items = list(eval_items(store.rated()))
    assert [i["type"] for i in items] == ["factoid", "unanswerable", "review"]
    up, refused, down = items
    assert up["evidence"] == ["LoRA 在冻结的预训练权重旁加入低秩矩阵"]
    assert up["positive_files"] == ["lora.md"] and up["lang"] == "zh"
    assert refused["feedback"]["comment"] == "笔记里确实没有"
    # The follow-up carries the answered turn before it (the refusal is left out).
    assert refused["history"] == [
        {"role": "user", "content": "LoRA 是什么？"},
        {"role": "assistant", "content": "低秩矩阵 [1]"},
    ]
    assert down["lang"] == "en" and down["answer"] == "LoRA plus 4-bit [1]"
    assert [i["type"] for i in eval_items(store.rated(), rating="down")] == ["review"]

    path = tmp_path / "feedback.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    loaded = load_set(path)
    assert [i.expects_refusal for i in loaded] == [False, True, False]
    assert loaded[0].evidence == ("LoRA 在冻结的预训练权重旁加入低秩矩阵",)
    assert loaded[1].history[0] == ("user", "LoRA 是什么？")


def test_a_damaged_or_newer_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ChatsUnavailableError, match="not a database"):
        ChatStore(damaged).conversations("")
    newer = tmp_path / "newer.sqlite"
    store = ChatStore(newer)
    store.create("", "q")
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version = {chat_records.SCHEMA_VERSION + 1}")
    with pytest.raises(ChatsUnavailableError, match="newer notesqa"):
        ChatStore(newer).conversations("")
    # An unexpected table shape fails inside a query: still unavailable, not a 500.
    odd = tmp_path / "odd.sqlite"
    with sqlite3.connect(odd) as db:
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY)")
    with pytest.raises(ChatsUnavailableError, match="no such column"):
        ChatStore(odd).conversations("")


def test_a_file_deleted_from_outside_is_made_again(tmp_path: Path) -> None:
    """`notesqa kb delete` then `kb create` while a server runs: the server's store finds
    a new, empty file under the same name, and makes its tables again."""
    path = tmp_path / "team" / "conversations.sqlite"
    store = ChatStore(path)
    store.create("", "第一个")
    shutil.rmtree(tmp_path / "team")
    assert store.conversations("") == []
    assert store.create("", "第二个").title == "第二个"
    assert [c.title for c in store.conversations("")] == ["第二个"]
