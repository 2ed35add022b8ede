"""What an answer is: the reply, its cited sources, timings and check results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stage = Literal["retrieval", "answerability", "grounding"]
# What an answer is doing now, in order (some are skipped): rewriting a follow-up,
# retrieving, the model reading the prompt, generating, checking, translating.
Step = Literal["rewrite", "retrieve", "read", "generate", "check", "translate"]


@dataclass(frozen=True, slots=True)
class Progress:
    """A stage of an answer beginning: ``elapsed`` seconds after the question came in;
    ``detail`` e.g. the question as it will be searched (``query``) after a rewrite."""

    step: Step
    elapsed: float
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.step, "elapsed": round(self.elapsed, 3), **self.detail}


@dataclass(slots=True)
class Source:
    n: int
    source: str
    page: int | None
    heading: str
    chunk_id: str
    start: int
    end: int
    text: str
    quote_start: int = 0
    quote_end: int = 0
    chunk_ids: list[str] = field(default_factory=list)
    origin: str = "text"  # text, table or ocr (ingest.documents.Origin)
    document_id: str = ""  # for the document's text: GET /api/kbs/{kb}/documents/{id}/text


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an answer was refused: which stage decided, in words, and the figures it used.

    ``retrieval``: no passage relevant enough (the model is not called). ``answerability``:
    the passages do not give the answer (a constraint of the question is missing from
    them, or the model's verdict). ``grounding``: the written answer is not supported by
    the passages it cites, or declines.
    """

    stage: Stage
    reason: str
    scores: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Answer:
    answer: str
    refused: bool
    sources: list[Source]
    model: str
    timings: dict[str, float]
    flagged: bool = False
    grounding: float | None = None
    query: str = ""  # the question as searched (rewritten when a follow-up)
    refusal: Refusal | None = None  # set when refused
    checks: dict[str, Any] = field(default_factory=dict)  # every stage's figures, refused or not

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return data
