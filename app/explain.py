"""Why a question would be (or was) answered or refused, in words and figures.

The hit-testing view of the page, ``notesqa search --explain`` and ``explain: true`` on
``/api/search`` and ``/api/ask`` all show this. Each stage of answering is one step:

    retrieval      the best passage's calibrated relevance against the threshold
    constraints    the question's names, years and titles, all in one passage
    verdict        the model's probability that the passages give the answer
    grounding      the written answer's sentences supported by the passages it cites

A search can decide the first two; the last two happen only when answering, and a
search's explanation says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.answer.answerability import passage_label
from app.answer.types import Answer
from app.names import constraints, missing_from
from app.passages import passages_for
from app.retrieve import SearchResult, hit_scores
from app.settings import Settings
from ingest.store import LoadedIndex

Decision = Literal["answer", "refuse", "model decides"]


@dataclass(slots=True)
class Step:
    stage: str
    passed: bool | None  # None: not decided here (search) or not run
    detail: str  # in English words
    # What happened, for a page to say in its own language: ``stage.code`` with
    # ``values``, figures formatted (e.g. retrieval.below {"best": "0.31", "threshold":
    # "0.50"}).
    code: str = ""
    values: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Explanation:
    decision: Decision
    reason: str
    threshold: float
    best_relevance: float
    queries: list[str]
    steps: list[Step] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _retrieval_step(
    best: float, threshold: float, found: bool, any_hits: bool, named: list[str]
) -> Step:
    figures = {"best": f"{best:.2f}", "threshold": f"{threshold:.2f}"}
    if not any_hits:
        return Step("retrieval", False, "the knowledge base has no passage to search", "empty")
    if found and best < threshold:  # passed on by names one passage holds (app.retrieve)
        detail = (
            f"best relevance {best:.2f} < threshold {threshold:.2f}, "
            f"but a passage names {', '.join(named)}"
        )
        return Step("retrieval", True, detail, "named", {**figures, "names": ", ".join(named)})
    if found:
        detail = f"best relevance {best:.2f} ≥ threshold {threshold:.2f}"
        return Step("retrieval", True, detail, "found", figures)
    detail = f"best relevance {best:.2f} < threshold {threshold:.2f}: nothing relevant found"
    return Step("retrieval", False, detail, "below", figures)


def _constraint_step(wanted: list[str], missing: list[str], enabled: bool) -> Step:
    if not wanted:
        detail = "the question names no entity, year or title to check"
        return Step("constraints", True, detail, "none")
    if missing:
        words = f"no single passage mentions {', '.join(missing)}"
        names = {"names": ", ".join(missing)}
        if not enabled:
            return Step("constraints", None, words + " (check off)", "missing_off", names)
        return Step("constraints", False, words, "missing", names)
    names = {"names": ", ".join(wanted)}
    return Step("constraints", True, f"a passage mentions {', '.join(wanted)}", "found", names)


def explain_search(
    question: str, result: SearchResult, *, index: LoadedIndex, settings: Settings
) -> Explanation:
    """What answering would decide from this search, as far as a search can tell."""
    threshold = settings.retrieval.relevance_threshold
    best = max((h.relevance for h in result.hits), default=0.0)
    steps = [_retrieval_step(best, threshold, result.found, bool(result.hits), result.named)]
    decision: Decision = "refuse"
    reason = steps[0].detail
    if result.found:
        passages = passages_for(result.hits, index, settings.retrieval)
        wanted = constraints(question)
        missing = missing_from(wanted, [passage_label(p) for p in passages])
        steps.append(_constraint_step(wanted, missing, settings.answer.check_constraints))
        if missing and settings.answer.check_constraints:
            reason = f"refused before the model is asked: {steps[-1].detail}"
        else:
            decision = "model decides"
            a = settings.answer
            if a.verdict:
                verdict = Step(
                    "verdict",
                    None,
                    "decided when answering: the model's probability that the passages "
                    f"give the answer must reach {a.answerability_threshold:.2f}",
                    "pending",
                    {"threshold": f"{a.answerability_threshold:.2f}"},
                )
            else:
                verdict = Step("verdict", None, "off (answer.verdict)", "off")
            steps.append(verdict)
            steps.append(_grounding_step(settings))
            reason = "relevant passages found; the model's verdict and the grounding check decide"
    return Explanation(
        decision, reason, threshold, round(best, 4), result.queries, steps, hit_scores(result.hits)
    )


def _grounding_step(settings: Settings) -> Step:
    a = settings.answer
    if a.grounding_action == "off":
        return Step("grounding", None, "off (answer.grounding_action)", "off")
    detail = (
        f"checked after the answer is written: at least {a.grounding_threshold:.0%} of its "
        f"character pairs must occur in the passages it cites ({a.grounding_action} otherwise)"
    )
    return Step("grounding", None, detail, "pending", {"share": f"{a.grounding_threshold:.0%}"})


def explain_answer(answer: Answer, *, settings: Settings) -> Explanation:
    """What answering decided, stage by stage, from the answer's own checks."""
    checks = answer.checks
    threshold = settings.retrieval.relevance_threshold
    best = float(checks.get("relevance", 0.0))
    passages = list(checks.get("passages", []))
    named = list(checks.get("named", []))
    passed = best >= threshold or bool(named)
    steps = [_retrieval_step(best, threshold, passed, bool(passages), named)]
    refusal = answer.refusal
    if steps[0].passed:
        wanted = list(checks.get("constraints", []))
        if "missing" in checks:
            missing = list(checks["missing"])
            steps.append(_constraint_step(wanted, missing, settings.answer.check_constraints))
        p = checks.get("p_answerable")
        if p is not None:
            limit = settings.answer.answerability_threshold
            sign = "≥" if p >= limit else "<"
            detail = f"p(answerable) {p:.2f} {sign} {limit:.2f}"
            figures = {"p": f"{p:.2f}", "threshold": f"{limit:.2f}"}
            steps.append(
                Step("verdict", p >= limit, detail, "ok" if p >= limit else "low", figures)
            )
        if refusal is None or refusal.stage == "grounding":
            if refusal is not None:
                steps.append(Step("grounding", False, refusal.reason, "failed"))
            elif answer.grounding is not None:
                note = " (flagged)" if answer.flagged else ""
                detail = f"support {answer.grounding:.2f}{note}"
                support = {"support": f"{answer.grounding:.2f}"}
                steps.append(Step("grounding", True, detail, "ok", support))
    if refusal is None:
        decision: Decision = "answer"
        reason = "answered from the cited passages"
    else:
        decision = "refuse"
        reason = f"refused at {refusal.stage}: {refusal.reason}"
        if refusal.stage == "grounding":
            reason = f"answered, then withdrawn: {refusal.reason}"
    return Explanation(
        decision,
        reason,
        threshold,
        round(best, 4),
        list(checks.get("queries", [])),
        steps,
        passages,
    )
