"""Who is at work on an index folder: the build lock, held by one build at a time, and
the markers a running server leaves so that a build can yield the CPU to it.

Both live in the folder itself (``.lock``, ``.serving-<pid>``) and need no daemon: the
OS releases the lock when its build dies, and a marker whose process is gone is ignored.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import BuildInProgressError


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """The exclusive build lock of the index at ``root``; released by the OS even when
    the build is killed."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildInProgressError(
                f"another build of index {root.name} is running; wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_running(root: Path) -> bool:
    """Whether a build holds the lock now (a probe: it may change right after)."""
    path = root / ".lock"
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def mark_serving(root: Path, pid: int) -> Path:
    """Leave the marker of a process serving the index at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / f".serving-{pid}"
    marker.touch()
    return marker


def serving_pids(root: Path) -> list[int]:
    """Live processes serving the index at ``root`` (markers of dead ones are ignored)."""
    pids = []
    for marker in root.glob(".serving-*"):
        try:
            pid = int(marker.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            continue
        except PermissionError:  # alive, another user's
            pass
        pids.append(pid)
    return pids
