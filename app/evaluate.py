"""Retrieval (and answer) evaluation over a JSONL question set.

Set format (one JSON object a line, as ``bench/dev_qa.jsonl``): ``id``, ``question``,
``lang``, ``type`` (``unanswerable`` and ``noise_trap`` expect "nothing found"),
``evidence`` (verbatim strings a relevant passage contains) and ``keywords``.

A hit is relevant when its text contains one of the evidence strings, both compared as
``ingest.clean.match_key`` (NFKC, whitespace and pinyin debris removed, lowercase,
Traditional -> Simplified).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.retrieve import SearchResult
from ingest.clean import match_key
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
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
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


@dataclass(slots=True)
class ItemResult:
    item: EvalItem
    rank: int | None  # of the first relevant hit, 1-based
    refused: bool
    hits: list[dict[str, Any]]
    answer: str | None = None
    keyword_hit: float | None = None
    grounding: float | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.item.id, "hits": self.hits, "refused": self.refused}
        if self.answer is not None:
            out["answer"] = self.answer
            out["keyword_hit"] = self.keyword_hit
            out["grounding"] = self.grounding
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

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def metrics(results: Sequence[ItemResult]) -> Metrics:
    m = Metrics(n=len(results))
    answerable = [r for r in results if not r.item.expects_refusal and r.item.evidence]
    negatives = [r for r in results if r.item.expects_refusal]
    m.answerable = len(answerable)
    m.refusal_expected = len(negatives)
    if answerable:
        ranks = [r.rank for r in answerable]
        m.r1 = sum(1 for x in ranks if x is not None and x <= 1) / len(ranks)
        m.r5 = sum(1 for x in ranks if x is not None and x <= 5) / len(ranks)
        m.r10 = sum(1 for x in ranks if x is not None and x <= 10) / len(ranks)
        m.mrr10 = sum(1 / x for x in ranks if x is not None and x <= 10) / len(ranks)
        m.false_refusals = sum(r.refused for r in answerable) / len(answerable)
    if negatives:
        m.correct_refusals = sum(r.refused for r in negatives) / len(negatives)
    scored = [r.keyword_hit for r in answerable if r.keyword_hit is not None]
    if scored:
        m.keyword_hit = sum(scored) / len(scored)
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
    search: Callable[[str], SearchResult],
    *,
    k: int = 10,
    answer: Callable[[str], tuple[str, bool, float | None]] | None = None,
) -> Report:
    """Run every question through ``search`` (and ``answer`` when given).

    ``answer`` returns (text, refused, grounding score or None).
    """
    results = []
    for item in items:
        result = search(item.question)
        hits = result.hits[:k]
        rank = next(
            (i for i, h in enumerate(hits, 1) if is_relevant(h.chunk.text, item.evidence)), None
        )
        refused = not result.found
        text = None
        kw = grounding = None
        if answer is not None:
            text, refused, grounding = answer(item.question)
            kw = keyword_hit(text, item.keywords) if item.keywords else None
        results.append(
            ItemResult(
                item,
                rank,
                refused,
                [
                    {
                        "text": h.chunk.text,
                        "source": h.chunk.source,
                        "score": round(h.score, 6),
                        "relevance": round(h.relevance, 4),
                    }
                    for h in hits
                ],
                answer=text,
                keyword_hit=kw,
                grounding=grounding,
            )
        )
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


def keyword_hit(answer: str, keywords: Sequence[str]) -> float:
    """Share of the expected keywords the answer contains (script- and case-insensitive)."""
    key = match_key(answer)
    return sum(1 for kw in keywords if match_key(kw) in key) / len(keywords)
