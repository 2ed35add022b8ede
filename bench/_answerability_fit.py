"""``bench/answerability.py fit``: replay the stages' decisions from recorded signals for
any threshold, and choose the threshold by the procedure that script's docstring states."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _p(logit: float | None) -> float | None:
    return None if logit is None else round(1 / (1 + math.exp(-logit)), 4)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def decide(
    record: dict[str, Any],
    signal: str,
    threshold: float | None,
    *,
    constraints: bool,
    asked: bool = True,
) -> str | None:
    """The stage that refuses this record with these settings (None: answered)."""
    if record["stage"] == "retrieval":
        return "retrieval"
    checks = record.get("checks", {})
    if constraints and record.get("missing"):
        return "answerability"
    p = record.get(signal) if signal != "p_answerable" else checks.get("p_answerable")
    if threshold is not None and p is not None and _logit(p) < threshold and signal != "p_after":
        return "answerability"
    if record["refused"]:
        return record["stage"] or "grounding"
    if constraints and record.get("cited_missing"):
        return "grounding"
    if constraints and asked and record.get("asked_missing"):
        return "grounding"
    if threshold is not None and p is not None and signal == "p_after" and _logit(p) < threshold:
        return "grounding"
    return None


def figures(
    records: Sequence[dict[str, Any]],
    signal: str,
    threshold: float | None,
    *,
    constraints: bool,
    asked: bool = True,
) -> dict[str, Any]:
    negatives = [r for r in records if r["refusal_expected"]]
    positives = [r for r in records if not r["refusal_expected"]]
    stages = [decide(r, signal, threshold, constraints=constraints, asked=asked) for r in records]
    by_stage: dict[str, int] = {}
    for r, stage in zip(records, stages, strict=True):
        if stage and r["refusal_expected"]:
            by_stage[stage] = by_stage.get(stage, 0) + 1
    refused = {r["id"]: s is not None for r, s in zip(records, stages, strict=True)}
    out: dict[str, Any] = {
        "n": len(records),
        "refusals": sum(refused[r["id"]] for r in negatives) / max(1, len(negatives)),
        "false_refusals": sum(refused[r["id"]] for r in positives) / max(1, len(positives)),
        "refused_by_stage": by_stage,
    }
    # An answer the run never wrote (refused by its verdict, answered here) is not scored.
    scored = [r for r in positives if not (r.get("unwritten") and not refused[r["id"]])]
    hits = [
        0.0 if refused[r["id"]] else r["keyword_hit"]
        for r in scored
        if r.get("keyword_hit") is not None
    ]
    if hits:
        out["keyword_hit"] = sum(hits) / len(hits)
    judged = [not refused[r["id"]] and r["correct"] for r in scored if r.get("correct") is not None]
    if judged:
        out["accuracy"] = sum(judged) / len(judged)
    return out


def choose(
    sets: dict[str, list[dict[str, Any]]], signal: str, *, max_false: float, constraints: bool
) -> tuple[float | None, float]:
    """The threshold (log-odds) of the procedure in the module docstring, and its margin."""
    values = sorted(
        {
            _logit(v)
            for records in sets.values()
            for r in records
            if (
                v := (
                    r.get("checks", {}).get("p_answerable")
                    if signal == "p_answerable"
                    else r.get(signal)
                )
            )
            is not None
        }
    )
    if not values:
        return None, 0.0
    # Candidate thresholds: midpoints between neighbouring observed values, and beyond both ends.
    cuts = (
        [values[0] - 1.0]
        + [(a + b) / 2 for a, b in itertools.pairwise(values)]
        + [values[-1] + 1.0]
    )
    before = [figures(rs, signal, None, constraints=constraints) for rs in sets.values()]
    scored = []
    for cut in cuts:
        per_set = [figures(rs, signal, cut, constraints=constraints) for rs in sets.values()]
        added = [
            f["false_refusals"] - b["false_refusals"] for f, b in zip(per_set, before, strict=True)
        ]
        if all(a <= max_false + 1e-9 for a in added):
            caught = sum(
                f["refusals"] * sum(r["refusal_expected"] for r in rs)
                for f, rs in zip(per_set, sets.values(), strict=True)
            )
            scored.append((caught, cut))
    if not scored:
        return None, 0.0
    best = max(c for c, _ in scored)
    run = [cut for c, cut in scored if c == best]
    # The widest stretch of equally good cuts is contiguous in ``cuts``; take its middle.
    chosen = run[len(run) // 2]
    lower = max((v for v in values if v < chosen), default=chosen)
    upper = min((v for v in values if v > chosen), default=chosen)
    return chosen, min(chosen - lower, upper - chosen)


def bagged(
    sets: dict[str, list[dict[str, Any]]],
    signal: str,
    *,
    max_false: float,
    constraints: bool,
    rounds: int,
) -> tuple[float | None, tuple[float, float] | None]:
    """The procedure's threshold (log-odds) over ``rounds`` bootstrap draws (questions
    resampled within each set and kind): the median of the draws' thresholds, and their
    90% interval. One draw's argmax moves with any one question; the median does not."""
    rng = random.Random(0)
    draws: list[float] = []
    for _ in range(rounds):
        drawn = {}
        for name, records in sets.items():
            kinds = [[r for r in records if r["refusal_expected"] == k] for k in (True, False)]
            drawn[name] = [rng.choice(rs) for rs in kinds if rs for _ in rs]
        t, _ = choose(drawn, signal, max_false=max_false, constraints=constraints)
        if t is not None:
            draws.append(t)
    if not draws:
        return None, None
    draws.sort()
    n = len(draws)
    return draws[n // 2], (draws[int(0.05 * n)], draws[max(0, int(0.95 * n) - 1)])


def _normalise(record: dict[str, Any], product: str | None) -> dict[str, Any]:
    """A record of ``collect`` or a line of ``notesqa eval --answers --results-out``, in
    the form ``decide`` reads. Constraint checks are recomputed with today's code where
    the passages were recorded (collect), else taken as the run recorded them.

    ``product``: the ``VARIANTS`` phrasing (bench/answerability.py) the product now uses,
    for collect records made when it used another: its value stands for the product's
    verdict.
    """
    from app.answer.asked import missed
    from app.answer.citations import MARKER
    from app.evaluate import REFUSAL_TYPES
    from app.names import constraints, missing_from

    record = {**record, "checks": dict(record.get("checks", {}))}
    record.setdefault("refusal_expected", record.get("type") in REFUSAL_TYPES)
    if product and f"p_{product}" in record:
        record["checks"]["p_answerable"] = record[f"p_{product}"]
    passages = record.get("passages")
    if passages is None:  # an eval line: as recorded
        record["missing"] = record["checks"].get("missing") or []
        record["cited_missing"] = record["checks"].get("cited_missing") or []
        # Refused by the verdict at the run's threshold: no answer was written, so a
        # lower threshold would answer it, with a quality this run cannot tell.
        if record.get("stage") == "answerability" and not record["missing"]:
            record["refused"], record["stage"], record["unwritten"] = False, None, True
        return record
    wanted = constraints(record["query"])
    numbers = {
        int(n) for m in MARKER.finditer(record["answer"]) for n in re.findall(r"\d+", m.group(1))
    }
    cited_texts = [passages[n - 1] for n in sorted(numbers) if 0 < n <= len(passages)]
    record["missing"] = missing_from(wanted, passages)
    record["cited_missing"] = missing_from(wanted, cited_texts) if not record["refused"] else []
    # The product checks the draft; for an answer translated into the question's language
    # this reads the translation (the figures travel unchanged).
    record["asked_missing"] = not record["refused"] and bool(
        missed(record["query"], MARKER.sub(" ", record["answer"]), cited_texts)
    )
    return record


def fit(args: Any, variants: Sequence[str]) -> int:
    """Print the baseline, the chosen threshold of each signal and how it carries over."""
    sets = {
        Path(p).stem: [
            _normalise(json.loads(line), args.product_verdict)
            for line in Path(p).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for p in args.records
    }
    signals = ["p_answerable", *(f"p_{v}" for v in variants), "p_after"]
    report: dict[str, Any] = {"baseline": {}, "signals": {}}
    for name, records in sets.items():
        report["baseline"][name] = {
            "retrieval_gate_only": figures(records, "p_answerable", None, constraints=False),
            "constraints_no_asked": figures(
                records, "p_answerable", None, constraints=True, asked=False
            ),
            "constraints": figures(records, "p_answerable", None, constraints=True),
        }
    for signal in signals:
        entry: dict[str, Any] = {}
        for constraints in (False, True):
            t, margin = choose(sets, signal, max_false=args.max_false, constraints=constraints)
            key = "with_constraints" if constraints else "verdict_only"
            median, interval = bagged(
                sets,
                signal,
                max_false=args.max_false,
                constraints=constraints,
                rounds=args.bootstrap,
            )
            entry[key] = {
                "threshold_logit": t,
                "threshold_p": _p(t),
                "margin_logit": margin,
                "both": {
                    n: figures(rs, signal, t, constraints=constraints) for n, rs in sets.items()
                },
                "bootstrap": {
                    "median_p": _p(median),
                    "interval_p": None if interval is None else [_p(v) for v in interval],
                    "at_median": {
                        n: figures(rs, signal, median, constraints=constraints)
                        for n, rs in sets.items()
                    },
                },
            }
            # Fitted on one set alone, applied to the other.
            cross: dict[str, Any] = {}
            for fitted_on in sets:
                t1, _ = choose(
                    {fitted_on: sets[fitted_on]},
                    signal,
                    max_false=args.max_false,
                    constraints=constraints,
                )
                cross[fitted_on] = {
                    "threshold_p": None if t1 is None else 1 / (1 + math.exp(-t1)),
                    **{
                        n: figures(rs, signal, t1, constraints=constraints)
                        for n, rs in sets.items()
                        if n != fitted_on
                    },
                }
            entry[key]["fitted_on_one"] = cross
            if t is not None:
                # How the figures move around the chosen threshold (log-odds steps).
                entry[key]["sensitivity"] = {
                    f"{d:+.2f}": {
                        n: figures(rs, signal, t + d, constraints=constraints)
                        for n, rs in sets.items()
                    }
                    for d in (-1.0, -0.5, -0.25, 0.25, 0.5, 1.0)
                }
        report["signals"][signal] = entry
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0
