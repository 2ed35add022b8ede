"""Vectors in Milvus (``store.backend: milvus``): one collection per index version.

**How a version switch works.** The same as with FAISS: a build writes a complete new
collection (``<prefix><index>_<hash of the index folder>_<id>``), then the version folder
whose manifest names it is renamed into place and CURRENT is pointed at it. Until that
moment the previous version, and its collection, serve. A build that fails drops its
collection; one a killed build left behind is dropped by the next build (which holds the
index lock, so no other build owns it); pruning an old version drops its collection.
Collection per version rather than an alias swap: a version's folder (chunk table, BM25
index, manifest) and its vectors must switch together, and CURRENT is already that one
atomic switch; an alias would be a second switch that could disagree with it.

**What a row holds.** The chunk's vector, row, source, chunk id, heading, page, origin
and text (clipped to Milvus's 65,535-byte VARCHAR), so the collection can be read on its
own. Retrieval reads vectors here with source filters pushed down as filter
expressions, and takes chunk text from the version's chunk table, which also serves
BM25, neighbouring chunks and previews.

**Milvus Lite** (``milvus-lite``; a URI that is a path ending in ``.db``) is embedded
and serves one process at a time: a second process (``notesqa build`` beside a running
server) gets a clear error naming the ways out. The connections, and Milvus's errors as
the domain error, are ``milvus_client``'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Collection, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from ingest.documents import Chunk
from ingest.embed import Vectors
from ingest.errors import ConfigError, StoreUnavailableError
from ingest.manifest import Manifest
from ingest.milvus_client import client_for, errors, public_uri, verified, why
from ingest.vector_store import Backend, MilvusOptions, StoreOptions

log = logging.getLogger(__name__)

_BATCH = 1000  # rows per insert or read-back: well under gRPC's 64 MB message limit
_MAX_TOP_K = 16_384  # Milvus's limit on a search's k
_VARCHAR = 65_535  # bytes, Milvus's largest VARCHAR
_PATH = 4_096  # bytes, for sources and headings (PATH_MAX)


class MilvusStore:
    backend: Backend = "milvus"

    def __init__(self, options: StoreOptions, *, index_root: Path) -> None:
        self.options = options
        self.milvus = options.milvus
        prefix = options.milvus.collection_prefix if options.milvus else "notesqa_"
        name = re.sub(r"[^0-9A-Za-z_]", "_", index_root.name)[:64]
        # The folder's hash keeps two installs' (or two index dirs') collections apart
        # on one server, and makes this index's own prefix unique for the sweep.
        digest = hashlib.sha1(str(index_root.resolve()).encode()).hexdigest()[:8]
        self.scope = f"{prefix}{name}_{digest}_"

    def _options_for(self, manifest: Manifest | None) -> MilvusOptions:
        """The configured Milvus, or for a version written to another one, that one."""
        uri = manifest.vector_store.get("uri") if manifest else None
        if self.milvus is not None and uri in (None, public_uri(self.milvus.uri)):
            return self.milvus
        if uri is None:
            raise ConfigError("store.backend is milvus but store.milvus_uri is not set")
        return MilvusOptions(uri=uri)

    def write(
        self, folder: Path, vectors: Vectors, chunks: Sequence[Chunk], manifest: Manifest
    ) -> None:
        from pymilvus import DataType

        milvus = self._options_for(None)
        client = client_for(milvus)
        name = self.scope + uuid.uuid4().hex[:12]
        kind = self.options.vectors.kind_for(len(chunks))
        with errors(milvus.uri):
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("row", DataType.INT64, is_primary=True)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=manifest.dim)
            schema.add_field("source", DataType.VARCHAR, max_length=_PATH)
            schema.add_field("chunk_id", DataType.VARCHAR, max_length=256)
            schema.add_field("page", DataType.INT64)  # -1: a document without pages
            schema.add_field("heading", DataType.VARCHAR, max_length=_PATH)
            schema.add_field("origin", DataType.VARCHAR, max_length=16)
            schema.add_field("text", DataType.VARCHAR, max_length=_VARCHAR)
            index = client.prepare_index_params()
            v = self.options.vectors
            if kind == "hnsw":
                params = {"M": v.hnsw_m, "efConstruction": v.hnsw_ef_construction}
                index.add_index("vec", index_type="HNSW", metric_type="IP", params=params)
            else:
                index.add_index("vec", index_type="FLAT", metric_type="IP")
        try:
            with errors(milvus.uri):
                client.create_collection(name, schema=schema, index_params=index)
                for start in range(0, len(chunks), _BATCH):
                    part = chunks[start : start + _BATCH]
                    client.insert(
                        name, [_row(start + i, c, vectors[start + i]) for i, c in enumerate(part)]
                    )
                client.flush(name)
                client.load_collection(name)
        except BaseException:
            with suppress(Exception):
                client.drop_collection(name)
            raise
        manifest.vector_index = kind
        manifest.vector_store = {
            "backend": "milvus",
            "uri": public_uri(milvus.uri),
            "collection": name,
        }

    def open(self, folder: Path, manifest: Manifest) -> MilvusReader:
        milvus = self._options_for(manifest)
        client = client_for(milvus)
        name = manifest.vector_store["collection"]
        with errors(milvus.uri):
            client.load_collection(name)
        return MilvusReader(
            client,
            name,
            uri=milvus.uri,
            count=manifest.chunks,
            dim=manifest.dim,
            ef_search=self.options.vectors.hnsw_ef_search,
        )

    def problem(self, folder: Path, manifest: Manifest) -> str | None:
        milvus = self._options_for(manifest)
        name = manifest.vector_store.get("collection", "")
        if (milvus.uri, name) in verified:
            return None
        client = client_for(milvus)
        with errors(milvus.uri):
            if not name or not client.has_collection(name):
                return f"its Milvus collection {name or '(none)'} is missing"
            rows = int(client.get_collection_stats(name).get("row_count", 0))
        if rows != manifest.chunks:
            return f"its Milvus collection {name} holds {rows} of {manifest.chunks} rows"
        verified.add((milvus.uri, name))
        return None

    def drop(self, manifest: Manifest) -> None:
        # A version being pruned: a failure only leaves a collection the next sweep drops.
        name = manifest.vector_store.get("collection")
        if not name:
            return
        try:
            milvus = self._options_for(manifest)
            client_for(milvus).drop_collection(name)
            verified.discard((milvus.uri, name))
        except Exception as exc:
            log.warning("could not drop Milvus collection %s: %s", name, why(exc))

    def sweep(self, keep: Collection[str]) -> None:
        milvus = self._options_for(None)
        client = client_for(milvus)
        with errors(milvus.uri):
            for name in client.list_collections():
                if name.startswith(self.scope) and name not in keep:
                    client.drop_collection(name)


def _row(row: int, chunk: Chunk, vector: Vectors) -> dict[str, Any]:
    return {
        "row": row,
        "vec": vector.tolist(),
        "source": _clip(chunk.source, _PATH),
        "chunk_id": _clip(chunk.chunk_id, 256),
        "page": -1 if chunk.page is None else chunk.page,
        "heading": _clip(chunk.heading, _PATH),
        "origin": chunk.origin,
        "text": _clip(chunk.text, _VARCHAR),
    }


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


class MilvusReader:
    def __init__(
        self, client: Any, collection: str, *, uri: str, count: int, dim: int, ef_search: int
    ) -> None:
        self.client = client
        self.collection = collection
        self.uri = uri
        self.count = count
        self.dim = dim
        self.ef_search = ef_search

    def __len__(self) -> int:
        return self.count

    def search(
        self,
        query: Vectors,
        k: int,
        *,
        rows: Sequence[int] | None = None,
        sources: Sequence[str] | None = None,
    ) -> list[tuple[int, float]]:
        k = min(k, self.count if rows is None else len(rows), _MAX_TOP_K)
        if k <= 0:
            return []
        with errors(self.uri):
            found = self.client.search(
                self.collection,
                data=[np.asarray(query, dtype=np.float32).reshape(-1).tolist()],
                limit=k,
                filter=_filter(rows, sources),
                output_fields=["row"],
                search_params={"metric_type": "IP", "params": {"ef": max(self.ef_search, k)}},
            )
        return [(int(hit["entity"]["row"]), float(hit["distance"])) for hit in found[0]]

    def vectors(self, rows: Sequence[int]) -> Vectors:
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        got: dict[int, list[float]] = {}
        wanted = sorted(set(int(r) for r in rows))
        with errors(self.uri):
            for start in range(0, len(wanted), _BATCH):
                part = wanted[start : start + _BATCH]
                for hit in self.client.query(
                    self.collection,
                    filter=f"row in {json.dumps(part)}",
                    output_fields=["row", "vec"],
                    limit=len(part),
                ):
                    got[int(hit["row"])] = hit["vec"]
        missing = [r for r in wanted if r not in got]
        if missing:
            raise StoreUnavailableError(
                f"Milvus collection {self.collection} lacks rows {missing[:5]}: "
                "run `notesqa build --full` to rebuild it"
            )
        return np.asarray([got[int(r)] for r in rows], dtype=np.float32)

    def close(self) -> None:
        pass  # the client is shared by the process's readers; the collection stays loaded


def _filter(rows: Sequence[int] | None, sources: Sequence[str] | None) -> str:
    """The filter expression: by source where the names can be written as Milvus string
    literals (JSON's escapes for quotes and backslashes are Milvus's; \\u escapes are
    not, hence ensure_ascii=False and no control characters) and were stored whole,
    else by row."""
    if sources is not None and all(s.isprintable() and _clip(s, _PATH) == s for s in sources):
        return "source in " + json.dumps(list(sources), ensure_ascii=False)
    if rows is not None:
        return "row in " + json.dumps([int(r) for r in rows])
    return ""
