"""Is an index version intact? Checksums written at build time, verified before serving.

Every file of a version (vectors, chunk table, BM25 index) has its SHA-256 in the
manifest; a version whose manifest does not parse, whose files are missing or whose
checksums differ is damaged, and ``IndexStore`` serves the newest intact version
instead (a truncated ``vectors.faiss`` used to make every search fail with a FAISS
error while the intact previous version sat unused). Versions never change once
published, so each is hashed once, and again only if a file's size or time changes.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from ingest.chunk_table import CHUNK_TABLE
from ingest.manifest import Manifest
from ingest.vector_store import FAISS_FILE, backend_of

MANIFEST = "manifest.json"
REQUIRED = (CHUNK_TABLE,)  # in every version, checksummed or not; FAISS_FILE in FAISS ones
_BLOCK = 1 << 20
# (version folder, its files' sizes and times) -> its problem (None: intact)
_verified: dict[tuple[Path, tuple[tuple[str, int, int], ...]], str | None] = {}
_lock = threading.Lock()


def file_checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a version but its manifest, by relative path."""
    return {
        p.relative_to(folder).as_posix(): sha256_of(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def problem_of(folder: Path) -> str | None:
    """What is wrong with a version folder, in a few words; None when it is intact."""
    # Hashing again only when a file's size or time changed: a few stats per request.
    key = (folder.resolve(), _signature(folder))
    with _lock:
        if key in _verified:
            return _verified[key]
    problem = _check(folder)
    with _lock:
        _verified[key] = problem
    return problem


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    found = []
    for p in folder.rglob("*"):
        try:
            st = p.stat()
        except OSError:
            continue
        found.append((p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


def _check(folder: Path) -> str | None:
    try:
        manifest = Manifest.from_json((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{MANIFEST} is missing"
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return f"{MANIFEST} is unreadable ({type(exc).__name__})"
    required = (*REQUIRED, FAISS_FILE) if backend_of(manifest) == "faiss" else REQUIRED
    for name in required:
        if not (folder / name).is_file():
            return f"{name} is missing"
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_of(path) != expected:
            return f"{name} does not match its checksum (damaged or changed)"
    return None
