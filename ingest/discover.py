"""Which files a build reads: the folders walked, links checked, sizes and types vetted.

Nothing here reads a file's content; ``ingest.build`` loads what is kept.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import LOADERS
from ingest.report import BuildReport

# A subfolder holding this file is left out of builds of the folders above it: notesqa
# writes it in the kept folder of a deleted knowledge base inside the default one's
# (``app.library``), so those documents do not become the default's.
LEFT_OUT = ".notesqa-deleted-kb"


@dataclass(frozen=True, slots=True)
class Candidate:
    source: str
    path: Path


def folder_files(
    folder: Path, *, exclude: Sequence[Path] = (), follow_symlinks: bool = False
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files a build of ``folder`` reads, and the links it leaves out with why.

    Hidden files, ``exclude``'s folders and subfolders holding ``LEFT_OUT`` are left out
    silently; files whose names are not UTF-8 are reported. Links are read only when
    they lead to a regular file inside the folder (or anywhere, with
    ``follow_symlinks``): a link to ``/etc/hostname`` must not make it searchable.
    Folders behind links are never walked (a link back up would loop); loops, broken
    links and links to FIFOs or devices are reported.
    """
    root = folder.resolve()
    found = sorted(folder.rglob("*"))
    skip = [e.resolve() for e in exclude]
    skip += [p.parent.resolve() for p in found if p.name == LEFT_OUT and p.parent != folder]
    files: list[Path] = []
    left_out: list[tuple[str, str]] = []
    for p in found:
        relative = p.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not _utf8_name(relative):
            left_out.append((shown(p), NOT_UTF8))
            continue
        if p.is_symlink():
            why = _link_problem(p, root, follow_symlinks=follow_symlinks)
            if why:
                left_out.append((str(p), why))
                continue
            if not p.is_file():  # a FIFO or a device behind the link: reading it never ends
                left_out.append((str(p), "symlink to something that is not a regular file"))
                continue
        elif not p.is_file():
            continue
        if skip and any(p.resolve().is_relative_to(e) for e in skip):
            continue
        files.append(p)
    return files, left_out


# A name the file system holds as bytes that are not UTF-8 (made on another system, or
# unzipped from an old archive): Python keeps them as lone surrogates, which no document
# id, chunk id, JSON reply or terminal can carry. Such a file is reported, not read.
NOT_UTF8 = "file name is not valid UTF-8: rename the file to read it"


def _utf8_name(relative: Path) -> bool:
    try:
        str(relative).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(path: Path) -> str:
    """A path as a report can print it (a byte that is not UTF-8 as U+FFFD)."""
    return os.fsencode(path).decode("utf-8", "replace")


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
) -> tuple[list[Candidate], bool, set[str]]:
    """Files to index, whether every given path could be read, and the sources found
    but refused here (too large), whose indexed chunks a build keeps as for any file
    that fails to load."""
    found: dict[str, Candidate] = {}
    complete = True

    def add(source: str, path: Path) -> None:
        if source in found:
            report.failed.append((str(path), f"same name as {found[source].path}"))
        else:
            found[source] = Candidate(source, path)

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
        elif given.is_file() and not _utf8_name(Path(given.name)):
            report.failed.append((shown(given), NOT_UTF8))
        elif given.is_file():
            add(given.name, given)
        else:
            report.failed.append((str(given), "not a regular file or folder"))
            complete = False
    kept: list[Candidate] = []
    refused: set[str] = set()
    for cand in found.values():
        size = cand.path.stat().st_size
        if size > max_bytes:
            limit = max_bytes / 1_000_000
            report.failed.append((str(cand.path), f"larger than the {limit:g} MB limit"))
            refused.add(cand.source)
        elif cand.path.suffix.lower() not in LOADERS:
            report.failed.append((str(cand.path), f"unsupported file type {cand.path.suffix!r}"))
        else:
            kept.append(cand)
    return kept, complete, refused
