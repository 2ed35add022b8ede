"""Retrieval (and answer) evaluation over a JSONL question set.

Set format (one JSON object a line, as ``bench/dev_qa.jsonl``): ``id``, ``question``,
``lang``, ``type`` (``unanswerable`` and ``noise_trap`` expect a refusal),
``evidence`` (verbatim strings a relevant passage contains) and ``keywords``; optional:

- ``answers``: the gold answer as RGB writes it: every element is required, an element
  that is a list holds alternatives (any one will do). Scored as ``accuracy``: the
  share of answerable questions whose answer holds every required element.
- ``positive_files``: the documents that hold the answer (a hit from one is relevant).
- ``history``: earlier turns ``[{"role": "user"|"assistant", "content"}]`` for a
  follow-up; the question is rewritten with them as the service does, and retrieval is
  scored on what was searched.

A hit is relevant when its text contains one of the evidence strings, both compared as
``ingest.clean.match_key`` (NFKC, whitespace and pinyin debris removed, lowercase,
Traditional -> Simplified), or when it comes from one of ``positive_files``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.answer.types import Answer
from app.retrieve import SearchResult
from ingest.clean import match_key
from ingest.documents import Hit
from ingest.errors import InputError

REFUSAL_TYPES = frozenset({"unanswerable", "noise_trap"})


@dataclass(frozen=True, slots=True)
class EvalItem:
    id: str
    question: str
    type: str = "factoid"
    lang: str = "zh"
    evidence: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    answers: tuple[tuple[str, ...], ...] = ()
    positive_files: tuple[str, ...] = ()
    history: tuple[tuple[str, str], ...] = ()  # (role, content)

    @property
    def expects_refusal(self) -> bool:
        return self.type in REFUSAL_TYPES


def load_set(path: Path) -> list[EvalItem]:
    if not path.is_file():
        raise InputError(f"evaluation set not found: {path}")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            item = EvalItem(
                id=str(raw.get("id", n)),
                question=str(raw["question"]),
                type=str(raw.get("type", "factoid")),
                lang=str(raw.get("lang", "zh")),
                evidence=tuple(raw.get("evidence") or ()),
                keywords=tuple(raw.get("keywords") or ()),
                answers=tuple(
                    tuple(str(a) for a in (e if isinstance(e, list) else [e]))
                    for e in raw.get("answers") or ()
                ),
                positive_files=tuple(raw.get("positive_files") or ()),
                history=tuple(
                    (str(t["role"]), str(t["content"])) for t in raw.get("history") or ()
                ),
            )
            if any(role not in ("user", "assistant") for role, _ in item.history):
                raise ValueError("history roles must be user or assistant")
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InputError(f"{path}:{n}: not a valid item ({exc})") from exc
        if not item.question.strip():
            raise InputError(f"{path}:{n}: empty question")
        items.append(item)
    if not items:
        raise InputError(f"{path} holds no questions")
    return items


def is_relevant(text: str, evidence: Iterable[str]) -> bool:
    key = match_key(text)
    return any(match_key(e) in key for e in evidence if e.strip())


def hit_is_relevant(hit: Hit, item: EvalItem) -> bool:
    source = hit.chunk.source
    if item.positive_files and any(
        source == f or source.endswith("/" + f) for f in item.positive_files
    ):
        return True
    return is_relevant(hit.chunk.text, item.evidence)


@dataclass(slots=True)
class ItemResult:
    item: EvalItem
    rank: int | None  # of the first relevant hit, 1-based
    refused: bool
    hits: list[dict[str, Any]]
    answer: str | None = None
    keyword_hit: float | None = None
    grounding: float | None = None
    correct: bool | None = None  # every required element of ``answers`` in the answer
    stage: str | None = None  # the stage that refused
    checks: dict[str, Any] = field(default_factory=dict)
    query: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.item.id,
            "type": self.item.type,
            "lang": self.item.lang,
            "query": self.query,
            "rank": self.rank,
            "hits": self.hits,
            "refused": self.refused,
        }
        if self.answer is not None:
            out.update(
                answer=self.answer,
                keyword_hit=self.keyword_hit,
                correct=self.correct,
                grounding=self.grounding,
                stage=self.stage,
                checks=self.checks,
            )
        return out


@dataclass(slots=True)
class Metrics:
    n: int = 0
    answerable: int = 0
    r1: float = 0.0
    r5: float = 0.0
    r10: float = 0.0
    mrr10: float = 0.0
    refusal_expected: int = 0
    correct_refusals: float = 0.0  # share of unanswerable/noise_trap marked "nothing found"
    false_refusals: float = 0.0  # share of answerable ones marked so
    keyword_hit: float | None = None
    accuracy: float | None = None  # RGB-style, over answerable questions with ``answers``
    refused_by: dict[str, int] = field(default_factory=dict)  # stage -> refusals

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def metrics(results: Sequence[ItemResult]) -> Metrics:
    m = Metrics(n=len(results))
    answerable = [r for r in results if not r.item.expects_refusal]
    # Recall needs to know which passages answer: evidence strings or positive files.
    rankable = [r for r in answerable if r.item.evidence or r.item.positive_files]
    negatives = [r for r in results if r.item.expects_refusal]
    m.answerable = len(answerable)
    m.refusal_expected = len(negatives)
    if rankable:
        ranks = [r.rank for r in rankable]
        m.r1 = sum(1 for x in ranks if x is not None and x <= 1) / len(ranks)
        m.r5 = sum(1 for x in ranks if x is not None and x <= 5) / len(ranks)
        m.r10 = sum(1 for x in ranks if x is not None and x <= 10) / len(ranks)
        m.mrr10 = sum(1 / x for x in ranks if x is not None and x <= 10) / len(ranks)
    if answerable:
        m.false_refusals = sum(r.refused for r in answerable) / len(answerable)
    if negatives:
        m.correct_refusals = sum(r.refused for r in negatives) / len(negatives)
    scored = [r.keyword_hit for r in answerable if r.keyword_hit is not None]
    if scored:
        m.keyword_hit = sum(scored) / len(scored)
    judged = [r.correct for r in answerable if r.correct is not None]
    if judged:
        m.accuracy = sum(judged) / len(judged)
    for r in results:
        if r.refused and r.stage:
            m.refused_by[r.stage] = m.refused_by.get(r.stage, 0) + 1
    return m


@dataclass(slots=True)
class Report:
    overall: Metrics
    by_type: dict[str, Metrics] = field(default_factory=dict)
    by_lang: dict[str, Metrics] = field(default_factory=dict)
    results: list[ItemResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "by_type": {k: v.as_dict() for k, v in self.by_type.items()},
            "by_lang": {k: v.as_dict() for k, v in self.by_lang.items()},
        }


def evaluate(
    items: Sequence[EvalItem],
    search: Callable[[Sequence[str]], SearchResult],
    *,
    k: int = 10,
    answer: Callable[[EvalItem], Answer] | None = None,
    queries: Callable[[EvalItem], list[str]] | None = None,
) -> Report:
    """Run every question through ``search`` (and ``answer`` when given).

    ``search`` gets the forms of a question to search together. Retrieval is scored on
    what the answer searched (a follow-up rewritten: ``Answer.checks["queries"]``), or
    without answers on ``queries(item)``. Without ``answer``, "refused" means retrieval
    found nothing relevant enough.
    """
    results = []
    for item in items:
        final = answer(item) if answer is not None else None
        if final is not None:
            forms = list(final.checks.get("queries") or [final.query or item.question])
        else:
            forms = queries(item) if queries is not None else [item.question]
        result = search(forms)
        query = forms[0]
        hits = result.hits[:k]
        rank = next((i for i, h in enumerate(hits, 1) if hit_is_relevant(h, item)), None)
        r = ItemResult(
            item,
            rank,
            not result.found,
            [
                {
                    "text": h.chunk.text,
                    "source": h.chunk.source,
                    "score": round(h.score, 6),
                    "relevance": round(h.relevance, 4),
                }
                for h in hits
            ],
            query=query,
        )
        if final is not None:
            r.answer, r.refused, r.grounding = final.answer, final.refused, final.grounding
            r.stage = final.refusal.stage if final.refusal is not None else None
            r.checks = dict(final.checks)
            if item.keywords:
                r.keyword_hit = 0.0 if final.refused else keyword_hit(final.answer, item.keywords)
            if item.answers:
                r.correct = not final.refused and answer_correct(final.answer, item.answers)
        results.append(r)
    by_type: dict[str, list[ItemResult]] = defaultdict(list)
    by_lang: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        by_type[r.item.type].append(r)
        by_lang[r.item.lang].append(r)
    return Report(
        overall=metrics(results),
        by_type={t: metrics(rs) for t, rs in sorted(by_type.items())},
        by_lang={lang: metrics(rs) for lang, rs in sorted(by_lang.items())},
        results=results,
    )


def answer_correct(answer: str, answers: Sequence[Sequence[str]]) -> bool:
    """RGB's accuracy: every required element, one of its alternatives, in the answer."""
    key = match_key(answer)
    return all(any(match_key(a) in key for a in alternatives) for alternatives in answers)


def keyword_hit(answer: str, keywords: Sequence[str]) -> float:
    """Share of the expected keywords the answer contains (script- and case-insensitive)."""
    key = match_key(answer)
    return sum(1 for kw in keywords if match_key(kw) in key) / len(keywords)
