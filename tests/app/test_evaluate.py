"""Evaluation metrics on a tiny hand-made set whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.answer.types import Answer, Refusal
from app.evaluate import answer_correct, evaluate, is_relevant, keyword_hit, load_set
from app.retrieve import SearchResult
from ingest.documents import Chunk, Hit
from ingest.errors import InputError


def _hits(*texts: str) -> list[Hit]:
    return [
        Hit(Chunk(f"c{i}", "doc.txt", t, 0, len(t)), 1.0 / i, rank=i, relevance=0.9)
        for i, t in enumerate(texts, 1)
    ]


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_metrics_on_known_rankings(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "question": "qa", "type": "factoid", "lang": "zh", "evidence": ["甲乙丙"]},
        {"id": "b", "question": "qb", "type": "factoid", "lang": "en", "evidence": ["丁戊"]},
        {"id": "c", "question": "qc", "type": "list", "lang": "zh", "evidence": ["不存在"]},
        {"id": "d", "question": "qd", "type": "unanswerable", "lang": "zh", "evidence": []},
        {"id": "e", "question": "qe", "type": "noise_trap", "lang": "en", "evidence": []},
    ]
    results = {
        "qa": SearchResult(
            _hits("前言 甲 乙 丙 后记", "其他"), found=True
        ),  # rank 1 (spaces ignored)
        "qb": SearchResult(_hits("x", "y", "z", "有丁戊"), found=True),  # rank 4
        "qc": SearchResult(_hits("x", "y"), found=False),  # missed, and wrongly refused
        "qd": SearchResult(_hits("x"), found=False),  # correctly refused
        "qe": SearchResult(_hits("y"), found=True),  # should have refused
    }
    report = evaluate(load_set(_write(tmp_path, rows)), lambda forms: results[forms[0]], k=10)
    m = report.overall
    assert (m.n, m.answerable, m.refusal_expected) == (5, 3, 2)
    assert m.r1 == pytest.approx(1 / 3)
    assert m.r5 == pytest.approx(2 / 3)
    assert m.mrr10 == pytest.approx((1 + 1 / 4) / 3)
    assert m.correct_refusals == pytest.approx(0.5)
    assert m.false_refusals == pytest.approx(1 / 3)
    assert report.by_lang["en"].r1 == 0.0 and report.by_lang["en"].r5 == 1.0
    assert report.by_type["unanswerable"].correct_refusals == 1.0
    assert [r.rank for r in report.results] == [1, 4, None, None, None]


def test_k_cuts_the_ranking(tmp_path: Path) -> None:
    rows = [{"id": "a", "question": "q", "evidence": ["目标"]}]
    result = SearchResult(_hits("a", "b", "c", "目标"), found=True)
    report = evaluate(load_set(_write(tmp_path, rows)), lambda forms: result, k=3)
    assert report.overall.r10 == 0.0 and report.results[0].rank is None


def test_relevance_matching_normalises_script_width_case_and_pinyin() -> None:
    assert is_relevant(
        "采用LLaMA的相同架構(gòu),在中文上做預(yù)訓(xùn)練", ["相同架构,在中文上做预训练"]
    )
    assert is_relevant("ＢＯＯＫ corpus：11,000 本", ["bookcorpus:11,000本"])
    assert not is_relevant("完全无关", ["BookCorpus"])


def test_keyword_hit() -> None:
    assert keyword_hit("采用 Elo 评级系统，众包方式", ["Elo", "众包"]) == 1.0
    assert keyword_hit("梯度累積設為32", ["32", "梯度累积", "显存"]) == pytest.approx(2 / 3)


def test_bad_set_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_set(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "ok"}\n{not json}\n')
    with pytest.raises(InputError, match=":2:"):
        load_set(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no questions"):
        load_set(empty)


def test_results_out_line_shape(tmp_path: Path) -> None:
    rows = [{"id": "a", "question": "q", "evidence": ["甲"]}]
    report = evaluate(
        load_set(_write(tmp_path, rows)), lambda forms: SearchResult(_hits("甲"), found=True)
    )
    line = report.results[0].as_json()
    assert line["id"] == "a" and line["refused"] is False
    assert set(line["hits"][0]) >= {"text", "source", "score"}


def test_rgb_style_answers_positive_files_and_history(tmp_path: Path) -> None:
    rows = [
        {
            "id": "r1",
            "question": "《心居》的主演有哪些",
            "answers": ["海清", ["童瑶", "童謠"]],  # both required; the second either way
            "keywords": ["海清", "童瑶"],
            "positive_files": ["rgb_1_p0.txt"],
        },
        {"id": "r2", "question": "2023年男足主教练", "type": "unanswerable"},
        {
            "id": "f1",
            "question": "它的参数量呢？",
            "evidence": ["130B"],
            "history": [
                {"role": "user", "content": "GLM 是谁开发的？"},
                {"role": "assistant", "content": "清华团队。"},
            ],
        },
    ]
    items = load_set(_write(tmp_path, rows))
    assert items[0].answers == (("海清",), ("童瑶", "童謠"))
    assert items[2].history == (("user", "GLM 是谁开发的？"), ("assistant", "清华团队。"))
    hit = Hit(Chunk("c1", "rgb_1_p0.txt", "无关的文字", 0, 5), 1.0, rank=1, relevance=0.9)
    searched: list[list[str]] = []

    def search(forms: list[str]) -> SearchResult:
        searched.append(list(forms))
        return SearchResult([hit], found=True, queries=list(forms))

    def answer(item: Any) -> Answer:
        if item.id == "r1":
            return Answer("主演是海清和童謠[1]。", False, [], "m", {}, query=item.question)
        if item.id == "r2":
            why = Refusal("answerability", "no passage mentions 2023", {"missing": ["2023"]})
            return Answer("抱歉", True, [], "m", {}, query=item.question, refusal=why)
        queries = ["GLM 的参数量是多少？", "GLM 是谁开发的？ 它的参数量呢？"]
        return Answer("130B", False, [], "m", {}, query=queries[0], checks={"queries": queries})

    report = evaluate(items, search, answer=answer)
    r1, r2, f1 = report.results
    assert r1.rank == 1  # from a positive file, though no evidence string is given
    assert r1.correct is True and r1.keyword_hit == pytest.approx(0.5)  # 童謠 is not 童瑶
    assert r2.refused and r2.stage == "answerability"
    # A follow-up's retrieval is scored on what the answer searched.
    assert searched[2] == ["GLM 的参数量是多少？", "GLM 是谁开发的？ 它的参数量呢？"]
    assert f1.query == "GLM 的参数量是多少？"
    m = report.overall
    assert m.accuracy == 1.0 and m.correct_refusals == 1.0
    assert m.refused_by == {"answerability": 1}


def test_answer_correct_needs_every_element() -> None:
    assert answer_correct("隋文静和韩聪", [["隋文静"], ["韩聪"]])
    assert not answer_correct("隋文静", [["隋文静"], ["韩聪"]])
    assert answer_correct("反黑剧", [["反黑", "刑侦"]])
