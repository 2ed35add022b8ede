"""What a version of the index says about itself: ``manifest.json``."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

# 2: chunks carry their origin (text, table, ocr). A format-1 index still serves (every
# chunk's origin is text); the next build re-embeds it in format 2.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)


@dataclass(slots=True)
class DocumentRecord:
    source: str
    sha256: str
    chunks: int
    size: int
    pages: int | None
    indexed_at: str
    # Its first line, or first heading after a long first paragraph
    # (ingest.split.document_title); "" in versions built before titles were kept (the
    # page shows the file name then; `notesqa build --full` adds them).
    title: str = ""


@dataclass(slots=True)
class Manifest:
    embedding_model: str
    dim: int
    chunking: dict[str, int]
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    built_at: str = ""
    chunks: int = 0
    build_seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # relative path -> SHA-256
    vector_index: str = "flat"  # the index kind, flat or hnsw (ingest.vector_index)
    # Where the vectors are (ingest.vector_store): {"backend": "faiss"} (also when empty:
    # versions written before Milvus), or {"backend": "milvus", "uri", "collection"}.
    vector_store: dict[str, str] = field(default_factory=dict)
    # How to make the embedder again (backend, model, prefixes, server; never a secret):
    # a server meeting a version built with another model loads that one to query it.
    embedding_spec: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["counts"] = {"documents": len(self.documents), "chunks": self.chunks}
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data.pop("counts", None)
        docs = {k: DocumentRecord(**v) for k, v in data.pop("documents", {}).items()}
        return cls(documents=docs, **data)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
