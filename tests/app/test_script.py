"""A question written in Traditional Chinese is answered in Traditional (real embedding
model and FAISS over the notes; the LLM is scripted, since only the conversion around
it is under test)."""

from __future__ import annotations

from typing import Any

from app.answer import Answer, Answerer
from app.answer.script import to_traditional, writes_traditional
from app.settings import Settings
from app.wiring import retriever_from, search_from
from ingest.embed import Embedder

# What the model writes: Simplified, as the default model does for any Chinese question.
REPLY = (
    "MMLU(Massive Multitask Language Understanding)基准是由一系列学术科目中类似考试的问题组成[1]。"
)


def _answerer(settings: Settings, embedder: Embedder, llm: Any, **answer: Any) -> Answerer:
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update=answer)})
    search = search_from(settings, retriever_from(settings, embedder=embedder), None)
    return Answerer(settings=settings, search=search, generator=llm)


def test_which_questions_are_written_in_traditional() -> None:
    assert writes_traditional("MMLU 是什麼樣的基準？")
    assert writes_traditional("下載到的 Vicuna 權重為什麼不能直接用？")
    assert not writes_traditional("MMLU 是什么样的基准？")
    assert not writes_traditional("乾隆 who?")  # the same characters in both scripts
    assert not writes_traditional("What is MMLU?")
    assert not writes_traditional("下載的模型有多少参数？")  # mixed: 参数 is Simplified only
    assert to_traditional("入门学习的路径分为哪几个阶段") == "入門學習的路徑分為哪幾個階段"


def test_a_traditional_question_is_answered_in_traditional(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.reply, scripted.verdict = REPLY, 0.9
    events = list(_answerer(notes_settings, embedder, scripted).stream("MMLU 是什麼樣的基準？"))
    final = events[-1]
    assert isinstance(final, Answer) and not final.refused
    assert "基準是由一系列學術科目中類似考試的問題組成" in final.answer
    streamed = "".join(e for e in events if isinstance(e, str))
    assert "學術科目" in streamed and "学术" not in streamed
    # The sources keep the document's own characters (the note is Simplified).
    assert "基准是由一系列学术科目" in final.sources[0].text
    # The same question in Simplified, or with the setting off: the model's text as written.
    simplified = _answerer(notes_settings, embedder, scripted).ask("MMLU 是什么样的基准？")
    assert "基准是由一系列学术科目" in simplified.answer
    off = _answerer(notes_settings, embedder, scripted, follow_script=False)
    assert "基准是由一系列学术科目" in off.ask("MMLU 是什麼樣的基準？").answer


def test_a_traditional_question_is_refused_in_traditional(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    final = _answerer(notes_settings, embedder, scripted).ask("火星上的天氣怎麼樣？")
    assert final.refused and final.refusal is not None and final.refusal.stage == "retrieval"
    assert final.answer == "抱歉，知識庫中沒有找到能回答這個問題的內容。"
    assert scripted.requests == []  # refused before the model, as in Simplified


def test_closing_a_traditional_answer_stops_the_model(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.reply, scripted.verdict = REPLY * 5, 0.9
    events = _answerer(notes_settings, embedder, scripted).stream("MMLU 是什麼樣的基準？")
    assert any(isinstance(e, str) for e in events)  # the first piece has streamed
    events.close()  # the client hung up
    assert scripted.stopped == 1
