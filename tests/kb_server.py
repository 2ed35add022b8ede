"""A knowledge-base server's test set-up, shared by the HTTP tests (``from kb_server
import ...``: tests/ is on sys.path): the admin token, private copies of the notes index
and folder, and waiting for a rebuild."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_settings(base: Settings, tmp_path: Path, notes_index_dir: Path, **extra: Any) -> Settings:
    """Settings over a private copy of the notes index and of the notes folder."""
    shutil.copytree(notes_index_dir, tmp_path / "indexes")
    docs = tmp_path / "docs"
    shutil.copytree(Path(__file__).resolve().parents[1] / "notes", docs)
    return base.model_copy(update={"index_dir": tmp_path / "indexes", "docs_dir": docs, **extra})


def wait_rebuild(url: str, kb: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = httpx.get(f"{url}/api/kbs/{kb}/rebuild").json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"rebuild of {kb} did not finish")
