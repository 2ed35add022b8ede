"""A knowledge base's documents folder: list it against the index, take uploads, delete.

Uploads are the one place a remote user writes files on the server, so every part is
checked before anything lands: the name is one plain file name (no folders, "..",
absolute paths, NUL or control characters, hidden names), the suffix is one the loaders
read, the size is under ``max_file_mb``, and the content is what the suffix says (a
``.pdf`` starts like a PDF, a ``.docx`` is a zip holding a Word document, text is not
binary). Each file is written to a hidden temporary file in the folder (builds skip
hidden files) and renamed into place only when every file of the request passed, so a
failed or interrupted upload leaves nothing behind.
"""

from __future__ import annotations

import os
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from ingest.discover import folder_files
from ingest.documents import document_id
from ingest.errors import InputError, NotFoundError, TooLargeError, UnsupportedFileError
from ingest.integrity import sha256_of
from ingest.loaders import LOADERS
from ingest.store import Manifest

Status = Literal["indexed", "pending", "changed", "missing"]
_BLOCK = 1 << 20
# Magic numbers of binary formats a text upload must not be.
_BINARY = (b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"\x7fELF", b"GIF8", b"\xff\xd8\xff", b"MZ")


@dataclass(slots=True)
class DocumentEntry:
    """One document: ``indexed`` (as on disk), ``pending`` (not indexed yet),
    ``changed`` (the file differs from what is indexed) or ``missing`` (indexed, but the
    file is gone: the next rebuild removes it)."""

    id: str
    source: str
    status: Status
    size: int
    chunks: int = 0
    pages: int | None = None
    indexed_at: str = ""
    title: str = ""  # once indexed: its first line or heading (ingest.split.document_title)


def list_documents(
    folder: Path | None, manifest: Manifest | None, *, exclude: Sequence[Path] = ()
) -> list[DocumentEntry]:
    records = manifest.documents if manifest is not None else {}
    entries: dict[str, DocumentEntry] = {}
    if folder is not None and folder.is_dir():
        for path in folder_files(folder, exclude=exclude)[0]:
            if path.suffix.lower() not in LOADERS:
                continue
            source = path.relative_to(folder).as_posix()
            size = path.stat().st_size
            rec = records.get(source)
            status: Status = "pending"
            if rec is not None:
                same = rec.size == size and rec.sha256 == sha256_of(path)
                status = "indexed" if same else "changed"
            entries[source] = DocumentEntry(document_id(source), source, status, size)
    for source, rec in records.items():
        entry = entries.get(source)
        if entry is None and folder is None:
            entry = DocumentEntry(document_id(source), source, "indexed", rec.size)
        elif entry is None:
            entry = DocumentEntry(document_id(source), source, "missing", rec.size)
        entry.chunks, entry.pages, entry.indexed_at = rec.chunks, rec.pages, rec.indexed_at
        entry.title = rec.title
        entries[source] = entry
    return sorted(entries.values(), key=lambda e: e.source)


def delete_document(folder: Path | None, doc_id: str, *, exclude: Sequence[Path] = ()) -> str:
    """Remove the file of a document from the folder; its name. The index keeps it
    until the next rebuild."""
    if folder is None:
        raise InputError("this knowledge base has no documents folder to delete from")
    for path in folder_files(folder, exclude=exclude)[0] if folder.is_dir() else []:
        source = path.relative_to(folder).as_posix()
        if document_id(source) == doc_id:
            path.unlink()
            return source
    raise NotFoundError(f"no document with id {doc_id!r} in this knowledge base's folder")


# ---------------------------------------------------------------- uploads


def safe_name(raw: str | None) -> str:
    """The upload's file name if it is one plain, visible file name; else InputError."""
    name = unicodedata.normalize("NFC", raw or "")
    shown = name[:80]  # shown with !r: control characters escaped
    if not name:
        raise InputError("every uploaded file needs a file name")
    if "\x00" in name or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InputError(f"file name {shown!r} holds control characters")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InputError(f"file name {shown!r} must be a plain name, without folders")
    if name.startswith("."):
        raise InputError(f"file name {shown!r} is hidden (starts with '.'); rename it")
    if len(name.encode("utf-8")) > 200:
        raise InputError("file name longer than 200 bytes")
    suffix = Path(name).suffix.lower()
    if suffix not in LOADERS:
        allowed = ", ".join(sorted(LOADERS))
        raise UnsupportedFileError(
            f"{shown}: file type {suffix or '(none)'!r} not allowed; allowed: {allowed}"
        )
    return name


# Zip-based formats: the member that makes the archive what its suffix says.
_ZIP_FORMATS = {
    ".docx": ("word/document.xml", "a Word document"),
    ".pptx": ("ppt/presentation.xml", "a PowerPoint presentation"),
    ".xlsx": ("xl/workbook.xml", "an Excel workbook"),
    ".epub": ("META-INF/container.xml", "an EPUB book"),
}
# Binary formats by their first bytes. A PDF may have a few bytes of junk before its
# header (readers accept that); WebP is a RIFF container with WEBP at byte 8.
_JPEG = (lambda head: head.startswith(b"\xff\xd8\xff"), "a JPEG picture")
_TIFF = (lambda head: head.startswith((b"II*\x00", b"MM\x00*")), "a TIFF picture")
_MAGIC: dict[str, tuple[Callable[[bytes], bool], str]] = {
    ".pdf": (lambda head: b"%PDF-" in head[:1024], "a PDF (it does not start with %PDF-)"),
    ".png": (lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG picture"),
    ".jpg": _JPEG,
    ".jpeg": _JPEG,
    ".webp": (lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP", "a WebP picture"),
    ".tif": _TIFF,
    ".tiff": _TIFF,
}


def sniff(name: str, head: bytes, path: Path) -> None:
    """UnsupportedFileError unless the content is what the suffix says."""
    suffix = Path(name).suffix.lower()
    if suffix in _MAGIC:
        looks_right, kind = _MAGIC[suffix]
        if not looks_right(head):
            raise UnsupportedFileError(f"{name} is not {kind}")
    elif suffix in _ZIP_FORMATS:
        member, kind = _ZIP_FORMATS[suffix]
        if not zipfile.is_zipfile(path):
            raise UnsupportedFileError(f"{name} is not {kind} (not a zip archive)")
        try:
            with zipfile.ZipFile(path) as archive:
                members = set(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise UnsupportedFileError(f"{name} is a damaged zip archive") from exc
        if member not in members:
            raise UnsupportedFileError(f"{name} is a zip archive but not {kind}")
    else:  # text, Markdown, HTML, CSV: any encoding, but not a binary file renamed
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        if head.startswith(_BINARY) or (b"\x00" in head and not utf16):
            raise UnsupportedFileError(f"{name} is a binary file, not {suffix} text")


@dataclass(slots=True)
class Upload:
    name: str  # as the client sent it
    stream: BinaryIO


def save_uploads(folder: Path, uploads: Iterable[Upload], *, max_bytes: int) -> list[str]:
    """Check and store files in ``folder``; all of them or none. The names stored."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for upload in uploads:
            name = safe_name(upload.name)
            target = folder / name
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise InputError(f"{name} exists in the folder and is not a regular file")
            if target.resolve().parent != folder.resolve():  # belt and braces
                raise InputError(f"file name {name!r} would leave the knowledge base's folder")
            tmp = folder / f".upload-{uuid.uuid4().hex[:12]}"
            staged.append((tmp, target))
            head = _copy(upload.stream, tmp, max_bytes=max_bytes, name=name)
            if not head.strip():
                raise InputError(f"{name} is empty")
            sniff(name, head, tmp)
        if len({t for _, t in staged}) != len(staged):
            raise InputError("the same file name was uploaded twice in one request")
        for tmp, target in staged:
            os.replace(tmp, target)
        return [target.name for _, target in staged]
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def _copy(stream: BinaryIO, tmp: Path, *, max_bytes: int, name: str) -> bytes:
    """Copy to ``tmp`` (fsynced), stopping past ``max_bytes``; the first 8 KB."""
    head = b""
    written = 0
    with open(tmp, "xb") as out:
        while block := stream.read(_BLOCK):
            written += len(block)
            if written > max_bytes:
                raise TooLargeError(f"{name} is larger than the {max_bytes / 1e6:g} MB limit")
            if len(head) < 8192:
                head += block[: 8192 - len(head)]
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    return head
