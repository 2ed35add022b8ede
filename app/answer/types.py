"""What an answer is: the reply, its cited sources, timings and check results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass(slots=True)
class Answer:
    answer: str
    refused: bool
    sources: list[Source]
    model: str
    timings: dict[str, float]
    flagged: bool = False
    grounding: float | None = None
    query: str = ""  # what was searched (the rewritten question for follow-ups)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return data
