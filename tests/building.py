"""Building a small index in a test: the real pipeline, with the chunking and size limit
the ingest tests share (``from building import build``: tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest.build import BuildReport, build_index
from ingest.embed import Embedder
from ingest.split import ChunkingOptions
from ingest.store import IndexStore


def build(
    store: IndexStore, embedder: Embedder, *paths: Path, full: bool = False, **options: Any
) -> BuildReport:
    return build_index(
        list(paths),
        store=store,
        embedder=embedder,
        chunking=ChunkingOptions(300, 60),
        max_file_bytes=100_000,
        full=full,
        **options,
    )
