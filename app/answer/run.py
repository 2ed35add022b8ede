"""One question's run through the stages: its clock, timings, figures and progress.

The pipeline and its cross-language path share this state instead of passing a dozen
keyword arguments between them; the ``Answer`` they return holds the same ``timings``
and ``checks`` dicts, so a figure recorded late (the first token) still reaches it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.answer.types import Progress, Step


@dataclass
class Run:
    lang: str  # the asker's language: refusals and the final answer are written in it
    cancel: threading.Event | None = None
    query: str = ""  # the question as searched (a follow-up rewritten)
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)  # every stage's figures

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def step(self, name: Step, **detail: Any) -> Progress:
        return Progress(name, self.elapsed(), detail)

    def finish(self) -> None:
        self.timings["total"] = self.elapsed()

    def relay(
        self, stream: Iterator[str], pieces: list[str], *, announce: bool = True
    ) -> Iterator[str | Progress]:
        """Pass the model's pieces on, keeping them in ``pieces`` and timing the first
        (announced as the ``generate`` stage unless it was announced already)."""
        try:
            for piece in stream:
                if not pieces:
                    self.timings["first_token"] = self.elapsed()
                    if announce:
                        yield self.step("generate")
                pieces.append(piece)
                yield piece
        finally:
            close = getattr(stream, "close", None)  # a backend's generator: stop it now
            if close is not None:
                close()
