"""The server over a damaged index: it serves the intact version and says why, or says
what is damaged; never a 500. Real uvicorn, embedding model and FAISS."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from live import Server

from app.settings import Settings


def test_a_damaged_current_version_is_reported_and_passed_over(
    notes_settings: Settings, notes_index_dir: Path, tmp_path: Path, scripted: Any
) -> None:
    shutil.copytree(notes_index_dir, tmp_path / "indexes")
    root = tmp_path / "indexes" / "default"
    good = (root / "CURRENT").read_text().strip()
    # A second, newer version whose vectors were truncated on disk.
    damaged = "v-29991231-235959-abcdef"
    shutil.copytree(root / good, root / damaged)
    vectors = root / damaged / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:64])
    (root / "CURRENT").write_text(damaged + "\n")
    settings = notes_settings.model_copy(update={"index_dir": tmp_path / "indexes"})
    with Server(settings, scripted) as srv:
        ready = httpx.get(f"{srv.url}/readyz").json()
        assert ready["status"] == "ready"
        assert any(damaged in w and "vectors.faiss" in w for w in ready["warnings"])
        assert httpx.get(f"{srv.url}/api/index").json()["version"] == good
        hits = httpx.post(f"{srv.url}/api/search", json={"query": "LoRA"}).json()["hits"]
        assert hits


def test_every_version_damaged_is_a_clear_503(
    notes_settings: Settings, notes_index_dir: Path, tmp_path: Path, scripted: Any
) -> None:
    shutil.copytree(notes_index_dir, tmp_path / "indexes")
    root = tmp_path / "indexes" / "default"
    for version in root.glob("v-*"):
        (version / "manifest.json").write_text("{broken")
    settings = notes_settings.model_copy(update={"index_dir": tmp_path / "indexes"})
    with Server(settings, scripted, wait=False) as srv:
        deadline = time.monotonic() + 30
        while (ready := httpx.get(f"{srv.url}/readyz")).json()["error"]["code"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert ready.status_code == 503
        assert "manifest.json" in ready.json()["error"]["message"]
        search = httpx.post(f"{srv.url}/api/search", json={"query": "LoRA"})
        assert search.status_code == 503 and search.json()["error"]["code"] == "index_damaged"
