"""What a build reports as it goes (``Progress``) and when it is done (``BuildReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Progress(Protocol):
    def start(self, stage: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NullProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(slots=True)
class BuildReport:
    index: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not failures
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0  # embedded by the model in this build
    cached_chunks: int = 0  # new chunks whose vectors came from the embedding cache
    seconds: float = 0.0
    version: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed
