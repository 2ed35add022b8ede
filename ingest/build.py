"""build_index: files -> load -> clean -> split -> embed -> write, incrementally.

The index mirrors the paths given: new files are added, changed ones (by content hash)
re-embedded, unchanged ones reuse their stored vectors, and files that are gone leave the
index. A document that fails to load is reported and, if it was indexed before, keeps
its previous chunks: a bad file never costs data that was already searchable.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.clean import to_simplified
from ingest.discover import Candidate, discover
from ingest.documents import Chunk, Document
from ingest.embed import Embedder, Vectors
from ingest.embed_cache import EmbeddingCache, embed_with_cache, text_key
from ingest.errors import DocumentError, InputError
from ingest.keyword import KeywordIndex
from ingest.loaders import loader_for
from ingest.ocr import OcrOptions, Recognizer, ocr_pages, recognizer_for
from ingest.prepare import clean_document
from ingest.report import BuildReport, NullProgress, Progress
from ingest.split import ChunkingOptions, document_title, split_text
from ingest.spool import TextSpool
from ingest.store import (
    FORMAT_VERSION,
    DocumentRecord,
    IndexStore,
    LoadedIndex,
    Manifest,
    NewVersion,
    now_iso,
)

# The rules version an index from before versions were recorded counts as: 1, the rules
# of the release that began recording it. Re-reading every such index on upgrade (OCR of
# scans included) would cost a large knowledge base hours for a change it never had.
RULES_BEFORE_VERSIONS = 1


def load_document(cand: Candidate) -> Document:
    data = cand.path.read_bytes()  # read once: hash and parse the same bytes
    if not data.strip():
        raise DocumentError("empty file")
    try:
        pages = loader_for(cand.path.suffix)(data)
    except DocumentError:
        raise
    except Exception as exc:
        # A parser's own error on a damaged file (lxml on a cut-off document.xml, an
        # xlsx sheet's ParseError): that file is reported, and the rest of the build
        # goes on; one bad upload must not hold every later change out of the index.
        kind = cand.path.suffix.lower() or "file"
        why = f"{type(exc).__name__}: {exc}"
        raise DocumentError(f"damaged or unreadable {kind} ({why[:200]})") from exc
    return Document(
        source=cand.source,
        path=str(cand.path),
        sha256=hashlib.sha256(data).hexdigest(),
        pages=tuple(pages),
        size=len(data),
    )


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
    elif {"rules": RULES_BEFORE_VERSIONS, **manifest.chunking} != chunking.as_dict():
        reason = f"chunking changed ({manifest.chunking} -> {chunking.as_dict()})"
    if reason:
        report.notes.append(f"{reason}: reading and splitting every document again")
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
    ocr: OcrOptions | None = None,
    embedding_spec: dict[str, str] | None = None,
) -> BuildReport:
    """Bring the index in line with ``paths`` (less the folders in ``exclude``); publish a
    new version if anything is left. ``embedding_spec`` is recorded in the manifest: how
    to make ``embedder`` again (``Manifest.embedding_spec``).

    Stages: ``read`` (per document: load, OCR, clean, split), ``embed`` (per chunk),
    ``write``. Documents stream through ``read`` one at a time: what stays in memory is
    what the index holds (chunks, then vectors); each document's cleaned text goes to a
    spool file on disk (``TextSpool``) until the version is written.
    """
    progress = progress or NullProgress()
    started = time.perf_counter()
    report = BuildReport(index=store.name)
    with store.lock(), TextSpool(store.root) as spool:
        candidates, complete, refused = discover(
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
        read = _read(candidates, old_docs, spool, chunking, full, ocr, progress, report)

        to_embed = [c for chunks in read.chunks.values() for c in chunks]
        progress.start("embed", len(to_embed))
        with EmbeddingCache(store.root, embedder.name, embedder.dim) as cache:
            # Batches land in the cache as they finish: a killed build loses one batch.
            new_vectors, report.embedded_chunks = embed_with_cache(
                embedder,
                [embedding_text(c) for c in to_embed],
                cache,
                reuse=not full,
                progress=progress.advance,
            )
        report.cached_chunks = len(to_embed) - report.embedded_chunks

        # Assemble the new version in a stable order: by source name.
        chunks: list[Chunk] = []
        vectors: list[Vectors] = []
        records: dict[str, DocumentRecord] = {}
        offset = 0
        embedded_at: dict[str, int] = {}
        for source, cs in read.chunks.items():
            embedded_at[source] = offset
            offset += len(cs)
        keep_old = {s for s in read.loaded if s not in read.chunks and s in old_docs}
        # A file that fails now (to load, or over the size limit) keeps what it had:
        # a bad file never costs data that was already searchable.
        keep_old |= {s for s in read.failed | refused if s in old_docs}
        if not complete:  # a missing path: never drop what we cannot see
            keep_old |= set(old_docs) - read.loaded
        for source in sorted(set(read.chunks) | keep_old):
            if source in read.chunks:
                cs = read.chunks[source]
                at = embedded_at[source]
                vectors.append(new_vectors[at : at + len(cs)])
                records[source] = read.records[source]
                (report.updated if source in old_docs else report.added).append(source)
            else:
                assert previous is not None
                rows = previous.rows_of(source)
                cs = [c for _, c in rows]
                vectors.append(previous.vectors([r for r, _ in rows]))
                spool.put(source, old_docs[source].sha256, previous.document_text(source) or "")
                records[source] = old_docs[source]
                if source not in read.failed and source in read.loaded:
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
        del vectors, new_vectors  # the stacked copy is the one written
        index_texts = [embedding_text(c) for c in chunks]  # for BM25 and the cache's keys
        keyword = KeywordIndex.build(index_texts)
        manifest = Manifest(
            embedding_model=embedder.name,
            dim=embedder.dim,
            chunking=chunking.as_dict(),
            documents=records,
            built_at=now_iso(),
            chunks=len(chunks),
            build_seconds=round(time.perf_counter() - started, 3),
            embedding_spec=dict(embedding_spec or {}),
        )
        final = store.publish(
            NewVersion(manifest, all_vectors, chunks, spool, extras=[keyword.save])
        )
        progress.advance(len(chunks))
        # The cache keeps what the published version holds: enough to resume the next
        # build or re-embed an edited document's unchanged chunks, no more.
        with EmbeddingCache(store.root, embedder.name, embedder.dim) as cache:
            cache.keep_only([text_key(t) for t in index_texts])
    report.chunks = len(chunks)
    report.version = final.name
    report.seconds = time.perf_counter() - started
    return report


@dataclass(slots=True)
class _Read:
    """What the read stage found: the sources loaded, those that failed, and the new or
    changed documents' chunks and records (their texts are in the spool)."""

    loaded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    records: dict[str, DocumentRecord] = field(default_factory=dict)


def _read(
    candidates: Sequence[Candidate],
    old_docs: dict[str, DocumentRecord],
    spool: TextSpool,
    chunking: ChunkingOptions,
    full: bool,
    ocr: OcrOptions | None,
    progress: Progress,
    report: BuildReport,
) -> _Read:
    """Load, OCR, clean and split each new or changed document, one at a time."""
    found = _Read()
    recognizer: Recognizer | None = None  # made at the first picture page (it loads models)
    progress.start("read", len(candidates))
    for cand in candidates:
        try:
            doc = load_document(cand)
            found.loaded.add(doc.source)
            old = old_docs.get(doc.source)
            if not full and old is not None and old.sha256 == doc.sha256:
                continue  # unchanged: its chunks and vectors come from the current version
            if any(p.needs_ocr for p in doc.pages):
                recognizer = recognizer or recognizer_for(ocr or OcrOptions())
                doc = ocr_pages(doc, recognizer, notes=report.notes)
            text, spans = clean_document(doc, notes=report.notes)
            pieces = split_text(
                text, source=doc.source, doc_hash=doc.sha256, options=chunking, page_spans=spans
            )
            if not pieces:
                raise DocumentError("no text left after cleaning")
            found.chunks[doc.source] = pieces
            spool.put(doc.source, doc.sha256, text)
            found.records[doc.source] = DocumentRecord(
                doc.source,
                doc.sha256,
                len(pieces),
                doc.size,
                _page_count(doc),
                now_iso(),
                document_title(text, pieces),
            )
        except DocumentError as exc:
            report.failed.append((str(cand.path), str(exc)))
            found.failed.add(cand.source)
        except OSError as exc:
            report.failed.append((str(cand.path), f"cannot read: {exc.strerror or exc}"))
            found.failed.add(cand.source)
        finally:
            progress.advance()
    return found


def _page_count(doc: Document) -> int | None:
    return len(doc.pages) if doc.pages and doc.pages[0].number is not None else None
