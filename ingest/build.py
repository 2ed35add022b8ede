"""build_index: files -> load -> clean -> split -> embed -> write, incrementally.

The index mirrors the paths given: new files are added, changed ones (by content hash)
re-embedded, unchanged ones reuse their stored vectors, and files that are gone leave the
index. A document that fails to load is reported and, if it was indexed before, keeps
its previous chunks: a bad file never costs data that was already searchable.
"""

from __future__ import annotations

import errno
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.clean import clean_text, normalise_text, to_simplified
from ingest.documents import PAGE_SEPARATOR, Chunk, Document
from ingest.embed import Embedder, Vectors
from ingest.errors import DocumentError, InputError
from ingest.furniture import drop_page_furniture
from ingest.keyword import KeywordIndex
from ingest.loaders import LOADERS, loader_for
from ingest.split import ChunkingOptions, split_text
from ingest.store import (
    FORMAT_VERSION,
    DocumentRecord,
    IndexStore,
    LoadedIndex,
    Manifest,
    NewVersion,
    now_iso,
)


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
    embedded_chunks: int = 0
    seconds: float = 0.0
    version: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class _Candidate:
    source: str
    path: Path


def folder_files(
    folder: Path, *, exclude: Sequence[Path] = (), follow_symlinks: bool = False
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files a build of ``folder`` reads, and the links it leaves out with why.

    Hidden files and ``exclude``'s folders are left out silently. Links are read only
    when they lead to a file inside the folder (or anywhere, with ``follow_symlinks``):
    a link to ``/etc/hostname`` must not make it searchable. Folders behind links are
    never walked (a link back up would loop); loops and broken links are reported.
    """
    root = folder.resolve()
    skip = [e.resolve() for e in exclude]
    files: list[Path] = []
    left_out: list[tuple[str, str]] = []
    for p in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.is_symlink():
            why = _link_problem(p, root, follow_symlinks=follow_symlinks)
            if why:
                left_out.append((str(p), why))
                continue
        elif not p.is_file():
            continue
        if skip and any(p.resolve().is_relative_to(e) for e in skip):
            continue
        files.append(p)
    return files, left_out


def _link_problem(link: Path, root: Path, *, follow_symlinks: bool) -> str | None:
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python 3.11's "Symlink loop"
        return "symlink loop"
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
    if target.is_dir():
        return "symlink to a folder: not followed"
    if not target.is_relative_to(root) and not follow_symlinks:
        return "symlink to a file outside the folder (follow_symlinks is off)"
    return None


def discover(
    paths: Sequence[Path],
    report: BuildReport,
    *,
    max_bytes: int,
    exclude: Sequence[Path] = (),
    follow_symlinks: bool = False,
) -> tuple[list[_Candidate], bool]:
    """Files to index and whether every given path could be read."""
    found: dict[str, _Candidate] = {}
    complete = True

    def add(source: str, path: Path) -> None:
        if source in found:
            report.failed.append((str(path), f"same name as {found[source].path}"))
        else:
            found[source] = _Candidate(source, path)

    for given in paths:
        if not given.exists():
            report.failed.append((str(given), "no such file or folder"))
            complete = False
        elif given.is_dir():
            files, left_out = folder_files(given, exclude=exclude, follow_symlinks=follow_symlinks)
            report.skipped.extend(left_out)
            supported = [p for p in files if p.suffix.lower() in LOADERS]
            for p in files:
                if p.suffix.lower() not in LOADERS:
                    report.skipped.append((str(p), f"unsupported file type {p.suffix or '(none)'}"))
            if not supported:
                report.failed.append((str(given), "folder holds no supported files"))
            for p in supported:
                add(p.relative_to(given).as_posix(), p)
        elif given.is_file():
            add(given.name, given)
        else:
            report.failed.append((str(given), "not a regular file or folder"))
            complete = False
    kept: list[_Candidate] = []
    for cand in found.values():
        size = cand.path.stat().st_size
        if size > max_bytes:
            limit = max_bytes / 1_000_000
            report.failed.append((str(cand.path), f"larger than the {limit:g} MB limit"))
        elif cand.path.suffix.lower() not in LOADERS:
            report.failed.append((str(cand.path), f"unsupported file type {cand.path.suffix!r}"))
        else:
            kept.append(cand)
    return kept, complete


def load_document(cand: _Candidate) -> Document:
    data = cand.path.read_bytes()  # read once: hash and parse the same bytes
    if not data.strip():
        raise DocumentError("empty file")
    pages = loader_for(cand.path.suffix)(data)
    return Document(
        source=cand.source,
        path=str(cand.path),
        sha256=hashlib.sha256(data).hexdigest(),
        pages=tuple(pages),
        size=len(data),
    )


# Cleaning was tuned on web clippings: on other people's files it must err towards
# keeping text. When it would remove more than this share of a document (or all of it),
# the document is indexed from its normalised, uncleaned text and the build says so.
# The bundled notes lose 0-46% (003, a page of long recommendation lists).
MAX_CLEANED_SHARE = 0.6


def clean_document(
    doc: Document, *, notes: list[str] | None = None
) -> tuple[str, list[tuple[int, int, int | None]]]:
    """The cleaned text of the whole document and the span of each page in it (the
    uncleaned text, with a line in ``notes``, when cleaning would gut it). Running
    headers, footers and page numbers of paged documents go first (``ingest.furniture``)."""
    doc = replace(doc, pages=tuple(drop_page_furniture(doc.pages)))
    text, spans = _joined(doc, clean_text)
    before = sum(len("".join(page.text.split())) for page in doc.pages)
    removed = 1 - len("".join(text.split())) / before if before else 0.0
    if before and removed > MAX_CLEANED_SHARE:
        if notes is not None:
            notes.append(
                f"{doc.source}: indexed uncleaned (cleaning would have removed "
                f"{removed:.0%} of its text)"
            )
        return _joined(doc, normalise_text)
    return text, spans


def _joined(
    doc: Document, prepare: Callable[[str], str]
) -> tuple[str, list[tuple[int, int, int | None]]]:
    parts: list[str] = []
    spans: list[tuple[int, int, int | None]] = []
    pos = 0
    for page in doc.pages:
        text = prepare(page.text)
        if not text.strip():
            continue
        if parts:
            pos += len(PAGE_SEPARATOR)
        spans.append((pos, pos + len(text), page.number))
        parts.append(text)
        pos += len(text)
    return PAGE_SEPARATOR.join(parts), spans


def embedding_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed: breadcrumb and text, in Simplified script.

    The breadcrumb gives a short chunk its topic; one script on both sides lets a
    Traditional question find a Simplified passage and the reverse.
    """
    text = f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text
    return to_simplified(text)


def _reusable(
    store: IndexStore, embedder: Embedder, chunking: ChunkingOptions, report: BuildReport
) -> LoadedIndex | None:
    """The current version when its vectors can be reused for unchanged documents."""
    if store.current_path() is None:
        return None
    manifest = store.read_manifest()
    reason = None
    if manifest.format_version != FORMAT_VERSION:
        reason = "index format changed"
    elif manifest.embedding_model != embedder.name or manifest.dim != embedder.dim:
        reason = f"embedding model changed ({manifest.embedding_model} -> {embedder.name})"
    elif manifest.chunking != chunking.as_dict():
        reason = f"chunking changed ({manifest.chunking} -> {chunking.as_dict()})"
    if reason:
        report.notes.append(f"{reason}: re-embedding every document")
        return None
    return store.load()


def build_index(
    paths: Sequence[Path],
    *,
    store: IndexStore,
    embedder: Embedder,
    chunking: ChunkingOptions,
    max_file_bytes: int,
    full: bool = False,
    progress: Progress | None = None,
    exclude: Sequence[Path] = (),
    follow_symlinks: bool = False,
) -> BuildReport:
    """Bring the index in line with ``paths`` (less the folders in ``exclude``); publish a
    new version if anything is left."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    report = BuildReport(index=store.name)
    with store.lock():
        candidates, complete = discover(
            paths,
            report,
            max_bytes=max_file_bytes,
            exclude=exclude,
            follow_symlinks=follow_symlinks,
        )
        # Even with --full the current version is read: it tells added from updated and
        # keeps the chunks of a document that now fails to load.
        previous = _reusable(store, embedder, chunking, report)
        old_docs = previous.manifest.documents if previous else {}

        progress.start("load", len(candidates))
        docs: list[Document] = []
        for cand in candidates:
            try:
                docs.append(load_document(cand))
            except DocumentError as exc:
                report.failed.append((str(cand.path), str(exc)))
            except OSError as exc:
                report.failed.append((str(cand.path), f"cannot read: {exc.strerror or exc}"))
            progress.advance()

        failed_sources = {c.source for c in candidates} - {d.source for d in docs}
        changed = [
            d
            for d in docs
            if full or d.source not in old_docs or old_docs[d.source].sha256 != d.sha256
        ]
        progress.start("clean", len(changed))
        cleaned: dict[str, tuple[str, list[tuple[int, int, int | None]]]] = {}
        for doc in changed:
            cleaned[doc.source] = clean_document(doc, notes=report.notes)
            progress.advance()

        progress.start("split", len(changed))
        new_chunks: dict[str, list[Chunk]] = {}
        for doc in changed:
            text, spans = cleaned[doc.source]
            pieces = split_text(
                text, source=doc.source, doc_hash=doc.sha256, options=chunking, page_spans=spans
            )
            if pieces:
                new_chunks[doc.source] = pieces
            else:
                report.failed.append((doc.path, "no text left after cleaning"))
                failed_sources.add(doc.source)
            progress.advance()

        to_embed = [c for chunks in new_chunks.values() for c in chunks]
        progress.start("embed", len(to_embed))
        new_vectors = embedder.embed_documents(
            [embedding_text(c) for c in to_embed], progress=progress.advance
        )
        report.embedded_chunks = len(to_embed)

        # Assemble the new version in a stable order: by source name.
        chunks: list[Chunk] = []
        vectors: list[Vectors] = []
        texts: dict[str, tuple[str, str]] = {}
        records: dict[str, DocumentRecord] = {}
        offset = 0
        embedded_at: dict[str, int] = {}
        for source, cs in new_chunks.items():
            embedded_at[source] = offset
            offset += len(cs)
        keep_old = {d.source for d in docs if d.source not in new_chunks and d.source in old_docs}
        keep_old |= {s for s in failed_sources if s in old_docs}
        if not complete:  # a missing path: never drop what we cannot see
            keep_old |= set(old_docs) - {d.source for d in docs}
        for source in sorted(set(new_chunks) | keep_old):
            if source in new_chunks:
                cs = new_chunks[source]
                at = embedded_at[source]
                vectors.append(new_vectors[at : at + len(cs)])
                doc = next(d for d in docs if d.source == source)
                texts[source] = (doc.sha256, cleaned[source][0])
                records[source] = DocumentRecord(
                    source, doc.sha256, len(cs), doc.size, _page_count(doc), now_iso()
                )
                (report.updated if source in old_docs else report.added).append(source)
            else:
                assert previous is not None
                rows = previous.rows_of(source)
                cs = [c for _, c in rows]
                vectors.append(previous.vectors([r for r, _ in rows]))
                texts[source] = (old_docs[source].sha256, previous.document_text(source) or "")
                records[source] = old_docs[source]
                if source not in failed_sources and source in {d.source for d in docs}:
                    report.unchanged.append(source)
            chunks.extend(cs)
        report.removed = sorted(set(old_docs) - set(records))
        if previous is not None:
            previous.close()

        if not chunks:
            report.seconds = time.perf_counter() - started
            why = "; ".join(f"{path}: {reason}" for path, reason in report.failed[:3])
            raise InputError(
                "nothing to index: no document produced any text"
                + (f" ({why})" if why else "")
                + ("" if store.current_path() is None else "; the previous index is kept")
            )
        progress.start("write", len(chunks))
        all_vectors = np.vstack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32)
        keyword = KeywordIndex.build([embedding_text(c) for c in chunks])
        manifest = Manifest(
            embedding_model=embedder.name,
            dim=embedder.dim,
            chunking=chunking.as_dict(),
            documents=records,
            built_at=now_iso(),
            chunks=len(chunks),
            build_seconds=round(time.perf_counter() - started, 3),
        )
        final = store.publish(
            NewVersion(manifest, all_vectors, chunks, texts, extras=[keyword.save])
        )
        progress.advance(len(chunks))
    report.chunks = len(chunks)
    report.version = final.name
    report.seconds = time.perf_counter() - started
    return report


def _page_count(doc: Document) -> int | None:
    return len(doc.pages) if doc.pages and doc.pages[0].number is not None else None
