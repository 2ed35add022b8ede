"""Building a small index in a test: the real pipeline, with the chunking and size limit
the ingest tests share (``from building import build``: tests/ is on sys.path)."""

from __future__ import annotations

import json
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


def collections_of(store: IndexStore) -> set[str]:
    """The Milvus collections of ``store``'s index (its own name prefix)."""
    from ingest.milvus_client import client_for
    from ingest.milvus_store import MilvusStore

    assert store.options.milvus is not None
    scope = MilvusStore(store.options, index_root=store.root).scope
    return {c for c in client_for(store.options.milvus).list_collections() if c.startswith(scope)}


def named_collections(store: IndexStore) -> set[str]:
    """The collections the index's version folders name."""
    names = set()
    for version in store.root.glob("v-*"):
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        names.add(manifest["vector_store"]["collection"])
    return names
