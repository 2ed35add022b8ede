"""The on-disk index: FAISS vectors, a SQLite chunk table and a manifest, versioned.

Layout of ``indexes/<name>/``::

    CURRENT                 names the version being served (replaced atomically)
    v-<time>-<id>/          one complete version
        manifest.json       format, embedding model and dimension, chunking, documents, counts,
                            where the vectors are, the SHA-256 of every other file
                            (``ingest.integrity``)
        vectors.faiss       inner-product index over normalised vectors; row i == chunk row i
                            (with ``store.backend: milvus``, a collection per version
                            instead: ``ingest.milvus_store``)
        chunks.sqlite       documents (cleaned text) and chunks (text, offsets, page, heading)
        keyword/            BM25 index over the same rows (``ingest.keyword``)
    .tmp-<id>/              a build in progress (removed by the next build if it crashed)
    .lock                   held by a running build (``ingest.index_locks``)
    .serving-<pid>          left by a server serving it (ditto)

A build writes a whole new version in a temporary folder, renames it into place and only
then points CURRENT at it, so a crash, ``kill -9`` or error at any moment leaves the
previous version loadable and unchanged. A version found damaged (a file truncated or
changed, a manifest or CURRENT that does not parse) is not served: the newest intact one
is, and ``serving()`` says why.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunk_table import CHUNK_TABLE, write_chunk_table
from ingest.documents import Chunk
from ingest.embed import Vectors
from ingest.errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from ingest.index_locks import build_lock, build_running, mark_serving, serving_pids
from ingest.integrity import file_checksums, problem_of
from ingest.manifest import FORMAT_VERSION, READABLE_FORMATS, DocumentRecord, Manifest, now_iso
from ingest.reader import LoadedIndex
from ingest.vector_index import VectorIndexOptions
from ingest.vector_store import Backend, StoreOptions, VectorStore, backend_of, vector_store

__all__ = [
    "FORMAT_VERSION",
    "DocumentRecord",
    "IndexStore",
    "LoadedIndex",
    "Manifest",
    "NewVersion",
    "StoreOptions",
    "now_iso",
]

_VERSION = re.compile(r"^v-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
KEEP_VERSIONS = 2  # the current one and the one before it
# Versions whose vectors were found intact (a Milvus collection present and whole):
# versions never change, so each is asked once per process, not on every request.
_VECTORS_OK: set[Path] = set()


@dataclass(slots=True)
class NewVersion:
    """Everything a build hands to ``IndexStore.publish``."""

    manifest: Manifest
    vectors: Vectors
    chunks: list[Chunk]  # in row order, grouped by document, ``seq`` = position in document
    texts: Mapping[str, tuple[str, str]]  # source -> (sha256, cleaned text); a TextSpool
    extras: list[Callable[[Path], None]] = field(default_factory=list)  # e.g. the BM25 index


class IndexStore:
    """One named index folder: find, load and atomically replace its current version."""

    def __init__(
        self,
        root: Path,
        *,
        vectors: VectorIndexOptions | None = None,
        options: StoreOptions | None = None,
    ) -> None:
        """``options``: where a build writes vectors (default FAISS with ``vectors``)."""
        self.root = root
        self.options = options or StoreOptions(vectors=vectors or VectorIndexOptions())
        self.vectors = self.options.vectors  # which index kind a build writes

    def _vector_store(self, backend: Backend | None = None) -> VectorStore:
        """The store of ``backend`` (a version's own), by default the one builds write."""
        return vector_store(backend or self.options.backend, self.options, index_root=self.root)

    @property
    def name(self) -> str:
        return self.root.name

    def current_path(self) -> Path | None:
        """The version to serve: the one CURRENT names when it is intact, else the newest
        intact one (``serving`` says what was wrong)."""
        return self.serving()[0]

    def serving(self) -> tuple[Path | None, list[str]]:
        """The version to serve and, when it is not the one CURRENT names, why."""
        problems: list[str] = []
        named: Path | None = None
        try:
            name = (self.root / "CURRENT").read_bytes().decode("utf-8").strip()
            if _VERSION.fullmatch(name) and (self.root / name).is_dir():
                named = self.root / name
            else:
                problems.append(f"CURRENT of index {self.name} names no version ({name[:40]!r})")
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError):
            problems.append(f"CURRENT of index {self.name} is unreadable")
        # Every request asks: the intact CURRENT version answers without listing folders.
        if named is not None and self._problem(named) is None:
            return named, problems
        if named is None and not problems and not self._versions():
            return None, []  # never built
        candidates = [named] if named is not None else []
        candidates += [v for v in reversed(self._versions()) if v != named]
        for path in candidates:
            problem = self._problem(path)
            if problem is None:
                if problems:
                    problems.append(f"serving the intact version {path.name} instead")
                return path, problems
            problems.append(f"version {path.name} of index {self.name} is damaged: {problem}")
        if problems:
            problems.append("run `notesqa build --full` to rebuild it")
        return None, problems

    def _problem(self, path: Path) -> str | None:
        """What is wrong with a version: its files (``ingest.integrity``), then its
        vectors where they are kept outside the folder."""
        problem = problem_of(path)
        if problem is not None or path in _VECTORS_OK:
            return problem
        manifest = _manifest_of(path)
        problem = self._vector_store(backend_of(manifest)).problem(path, manifest)
        if problem is None:
            _VECTORS_OK.add(path)
        return problem

    def read_manifest(self) -> Manifest:
        path, problems = self.serving()
        if path is None and problems:
            raise IndexDamagedError("; ".join(problems))
        if path is None:
            command = "notesqa build" + ("" if self.name == "default" else f" --index {self.name}")
            raise IndexNotFoundError(
                f"no index at {self.root}: run `{command}` (or rebuild it from the API) "
                "to create it"
            )
        return Manifest.from_json((path / "manifest.json").read_text(encoding="utf-8"))

    def load(self, *, embedding_model: str | None = None, dim: int | None = None) -> LoadedIndex:
        """Open the current version, checking it was built the way it will be queried."""
        manifest = self.read_manifest()
        fix = "run `notesqa build --full` to rebuild it"
        if manifest.format_version not in READABLE_FORMATS:
            raise IndexMismatchError(
                f"index {self.name} has format {manifest.format_version}, this notesqa reads "
                f"format {FORMAT_VERSION}: {fix}"
            )
        if embedding_model is not None and manifest.embedding_model != embedding_model:
            raise IndexMismatchError(
                f"index {self.name} was built with {manifest.embedding_model!r} but the "
                f"configured embedding model is {embedding_model!r}: {fix}"
            )
        if dim is not None and manifest.dim != dim:
            raise IndexMismatchError(
                f"index {self.name} has dimension {manifest.dim}, the model gives {dim}: {fix}"
            )
        path = self.current_path()
        assert path is not None  # read_manifest succeeded
        try:
            vectors = self._vector_store(backend_of(manifest)).open(path, manifest)
            return LoadedIndex(path, vectors=vectors)
        except (RuntimeError, sqlite3.Error, OSError, ValueError) as exc:
            # A version built before checksums, damaged: FAISS or SQLite says so here.
            raise IndexDamagedError(
                f"version {path.name} of index {self.name} is damaged "
                f"({type(exc).__name__}: {str(exc)[:120]}): {fix}"
            ) from exc

    def lock(self) -> AbstractContextManager[None]:
        """The exclusive build lock (``ingest.index_locks``)."""
        return build_lock(self.root)

    def locked(self) -> bool:
        """Whether a build holds the lock now (a probe: it may change right after)."""
        return build_running(self.root)

    def publish(self, new: NewVersion) -> Path:
        """Write a complete new version and switch CURRENT to it. Call under ``lock()``."""
        self._remove_stale_builds()
        tmp = self.root / f".tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            self._write(tmp, new)
            final = self.root / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
            os.rename(tmp, final)
            _fsync_dir(self.root)
            pointer = self.root / "CURRENT.tmp"
            with open(pointer, "w", encoding="utf-8") as handle:
                handle.write(final.name + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(pointer, self.root / "CURRENT")
            _fsync_dir(self.root)
        except BaseException:
            # Before the rename the version is incomplete: it goes, with vectors it wrote
            # outside its folder (a collection); after it, it is whole and stays.
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
                if new.manifest.vector_store:
                    self._vector_store(backend_of(new.manifest)).drop(new.manifest)
            raise
        self._prune(keep=final.name)
        return final

    def _write(self, folder: Path, new: NewVersion) -> None:
        # The vectors first: the chunk table and BM25 are written only once they are in.
        self._vector_store().write(folder, new.vectors, new.chunks, new.manifest)
        write_chunk_table(folder / CHUNK_TABLE, new.chunks, new.texts)
        for extra in new.extras:
            extra(folder)
        new.manifest.files = file_checksums(folder)  # verified before the version serves
        (folder / "manifest.json").write_text(new.manifest.to_json(), encoding="utf-8")
        for path in folder.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())

    # A running server marks the index it serves, so a build can yield the CPU to it.
    def mark_serving(self, pid: int) -> Path:
        return mark_serving(self.root, pid)

    def serving_pids(self) -> list[int]:
        """Live processes serving this index (stale markers of dead ones are ignored)."""
        return serving_pids(self.root)

    def remove(self) -> None:
        """Delete the whole index: every version, with vectors kept outside its folder
        (Milvus collections), and the folder. Call under ``lock()``."""
        for path in self._versions():
            self._drop_vectors(path)
        self._vector_store().sweep(keep=())
        shutil.rmtree(self.root)

    def _versions(self) -> list[Path]:
        return sorted(p for p in self.root.glob("v-*") if p.is_dir())

    def _remove_stale_builds(self) -> None:
        # Safe: we hold the lock, so no other build owns these.
        for stale in self.root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        named = set()
        for path in self._versions():
            with suppress(OSError, ValueError, TypeError, KeyError):
                named.add(_manifest_of(path).vector_store.get("collection", ""))
        self._vector_store().sweep(named)

    def _prune(self, *, keep: str) -> None:
        old = [p for p in self._versions() if p.name != keep]
        for path in old[: max(0, len(old) - (KEEP_VERSIONS - 1))]:
            self._drop_vectors(path)
            shutil.rmtree(path, ignore_errors=True)

    def _drop_vectors(self, path: Path) -> None:
        """Drop a version's vectors kept outside its folder (before the folder goes); a
        manifest that cannot be read names none, and the next sweep finds what is left."""
        with suppress(OSError, ValueError, TypeError, KeyError):
            manifest = _manifest_of(path)
            self._vector_store(backend_of(manifest)).drop(manifest)
        _VECTORS_OK.discard(path)


def _manifest_of(path: Path) -> Manifest:
    return Manifest.from_json((path / "manifest.json").read_text(encoding="utf-8"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
