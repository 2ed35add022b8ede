"""A server killed (SIGKILL) in the middle of a rebuild: restarted, it serves the last
good version, and the next rebuild works. Real `notesqa serve` processes, the real
embedding model and FAISS; the extractive generator (no LLM)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
from live import ROOT, ServerProcess

TOKEN = "crash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_kill_during_a_rebuild_keeps_the_last_good_version(
    notes_index_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(notes_index_dir, tmp_path / "indexes")
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "notes", docs)
    env = {
        "NOTESQA_INDEX_DIR": str(tmp_path / "indexes"),
        "NOTESQA_DOCS_DIR": str(docs),
        "NOTESQA_ADMIN_TOKEN": TOKEN,
    }
    config = ROOT / "configs" / "test.yaml"
    log = tmp_path / "server.log"
    with ServerProcess(env, config=config, log=log) as server:
        good = httpx.get(f"{server.url}/api/index").json()["version"]
        started = httpx.post(f"{server.url}/api/kbs/default/rebuild?full=true", headers=AUTH)
        assert started.status_code == 202
        deadline = time.monotonic() + 60
        while True:  # kill it while it embeds: after the old version was read
            stages = httpx.get(f"{server.url}/api/kbs/default/rebuild").json()["stages"]
            if stages and stages[-1]["name"] == "embed" and stages[-1]["done"] > 0:
                break
            assert time.monotonic() < deadline, stages
            time.sleep(0.05)
        server.kill()

    with ServerProcess(env, config=config, log=log) as server:
        assert httpx.get(f"{server.url}/api/index").json()["version"] == good
        search = httpx.post(f"{server.url}/api/search", json={"query": "LoRA"}, timeout=60)
        hits = search.json()["hits"]
        assert hits, "the last good version answers"
        # The killed build's lock died with it: a new rebuild runs and switches.
        assert httpx.post(f"{server.url}/api/kbs/default/rebuild", headers=AUTH).status_code == 202
        deadline = time.monotonic() + 120
        while (state := httpx.get(f"{server.url}/api/kbs/default/rebuild").json())["state"] == (
            "running"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert state["state"] == "done", state
        assert not list((tmp_path / "indexes" / "default").glob(".tmp-*"))  # the crash's leftovers
