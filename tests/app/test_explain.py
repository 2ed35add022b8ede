"""Explanations of answering and refusing: search (hit testing), ask, the API and the CLI.
Real embedding model, FAISS and index of the notes; a scripted generator for answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Server
from typer.testing import CliRunner

from app.cli import app
from app.explain import explain_answer, explain_search
from app.service import KnowledgeBase, Loaded
from app.settings import Settings

ANSWERABLE = "外挂知识库的具体流程是什么？"
OFF_TOPIC = "FlashAttention 是如何减少显存读写的？"
MISSING_YEAR = "GLM-130B 在 2025 年的下载量是多少？"  # the notes never say 2025
GROUNDED = "具体流程是：知识库文件转换为文本格式，文本分割，文本向量化[1]。"
TEST_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "test.yaml")


@pytest.fixture
def loaded(notes_settings: Settings, scripted: Any) -> Loaded:
    return KnowledgeBase(notes_settings, generator=scripted).load()


def test_search_explains_a_retrieval_refusal(loaded: Loaded, notes_settings: Settings) -> None:
    result = loaded.search(OFF_TOPIC)
    why = explain_search(OFF_TOPIC, result, index=loaded.retriever.index, settings=notes_settings)
    assert why.decision == "refuse" and why.steps[0].passed is False
    assert f"< threshold {notes_settings.retrieval.relevance_threshold:.2f}" in why.reason
    assert why.best_relevance < why.threshold
    assert why.steps[0].code == "below" and why.steps[0].values["threshold"] == "0.50"
    first = why.passages[0]
    assert {"dense", "bm25", "fused", "coverage", "relevance"} <= set(first)


def test_search_explains_a_missing_year(loaded: Loaded, notes_settings: Settings) -> None:
    result = loaded.search(MISSING_YEAR)
    why = explain_search(
        MISSING_YEAR, result, index=loaded.retriever.index, settings=notes_settings
    )
    assert result.found  # retrieval passes it (GLM-130B is in the notes) ...
    assert [s.stage for s in why.steps] == ["retrieval", "constraints"]
    assert why.steps[1].passed is False and "2025" in why.steps[1].detail  # ... this does not
    assert why.steps[1].code == "missing" and why.steps[1].values == {"names": "2025"}
    assert why.decision == "refuse" and why.reason.startswith("refused before the model")


def test_search_explains_a_question_passed_on_by_its_name(
    loaded: Loaded, notes_settings: Settings
) -> None:
    question = "TigerBot 是哪家公司开发的？最大的版本有多少参数？"  # a table row answers it
    result = loaded.search(question)
    why = explain_search(question, result, index=loaded.retriever.index, settings=notes_settings)
    assert why.best_relevance < why.threshold and why.steps[0].passed is True
    assert why.steps[0].code == "named" and why.steps[0].values["names"] == "TigerBot"
    assert why.decision == "model decides"


def test_search_leaves_the_model_stages_to_answering(
    loaded: Loaded, notes_settings: Settings
) -> None:
    result = loaded.search(ANSWERABLE)
    why = explain_search(ANSWERABLE, result, index=loaded.retriever.index, settings=notes_settings)
    assert why.decision == "model decides"
    stages = {s.stage: s.passed for s in why.steps}
    assert stages["retrieval"] is True and stages["verdict"] is None
    assert stages["grounding"] is None


def test_ask_explains_answered_and_withdrawn(
    loaded: Loaded, notes_settings: Settings, scripted: Any
) -> None:
    scripted.reply = GROUNDED
    scripted.verdict = 0.9
    why = explain_answer(loaded.answerer.ask(ANSWERABLE), settings=notes_settings)
    assert why.decision == "answer"
    assert [s.stage for s in why.steps] == ["retrieval", "constraints", "verdict", "grounding"]
    assert all(s.passed for s in why.steps)
    assert "0.90 ≥" in why.steps[2].detail
    scripted.reply = "ChatGLM2-6B 改进了量子退火调度器与蛋白质折叠预测，并支持火星通信[1]。"
    withdrawn = explain_answer(loaded.answerer.ask(ANSWERABLE), settings=notes_settings)
    assert withdrawn.decision == "refuse" and withdrawn.reason.startswith(
        "answered, then withdrawn"
    )
    assert withdrawn.steps[-1].stage == "grounding" and withdrawn.steps[-1].passed is False
    scripted.verdict = 0.1
    judged = explain_answer(loaded.answerer.ask(ANSWERABLE), settings=notes_settings)
    assert judged.reason.startswith("refused at answerability")
    assert judged.steps[-1].stage == "verdict" and judged.steps[-1].passed is False


def test_explain_over_the_api(notes_settings: Settings, scripted: Any) -> None:
    scripted.reply = GROUNDED
    with Server(notes_settings, scripted) as srv:
        plain = httpx.post(f"{srv.url}/api/search", json={"query": OFF_TOPIC}).json()
        assert plain["explain"] is None
        found = httpx.post(f"{srv.url}/api/search", json={"query": OFF_TOPIC, "explain": True})
        why = found.json()["explain"]
        assert why["decision"] == "refuse" and "nothing relevant" in why["reason"]
        assert found.json()["hits"][0]["scores"]["dense"] > 0
        body = {"question": OFF_TOPIC, "explain": True}
        asked = httpx.post(f"{srv.url}/api/ask", json=body, timeout=60).json()
        assert asked["refused"] and asked["explain"]["steps"][0]["stage"] == "retrieval"
        assert (
            asked["explain"]["passages"][0]["relevance"]
            == asked["checks"]["passages"][0]["relevance"]
        )


def test_cli_search_explain(notes_index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    result = CliRunner().invoke(
        app, ["search", OFF_TOPIC, "--explain", "--no-translate", "--config", TEST_CONFIG]
    )
    assert result.exit_code == 0, result.output
    assert "refuse: best relevance" in result.output and "[no] retrieval" in result.output
    assert "dense" in result.output and "bm25" in result.output
