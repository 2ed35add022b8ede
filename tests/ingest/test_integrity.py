"""A damaged index version is found and passed over: the newest intact one serves, and
`build --full` repairs. Real embedding model and FAISS."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from building import build
from typer.testing import CliRunner

from app.cli import app
from ingest.embed import Embedder
from ingest.errors import IndexDamagedError
from ingest.store import IndexStore

TEST_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "test.yaml")


def _build(store: IndexStore, embedder: Embedder, docs: Path, *, full: bool = False) -> str:
    return build(store, embedder, docs, full=full).version


@pytest.fixture
def two_versions(tmp_path: Path, embedder: Embedder) -> tuple[IndexStore, str, str, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 一\n\nLoRA 在冻结的权重旁加入低秩矩阵。", encoding="utf-8")
    store = IndexStore(tmp_path / "indexes" / "default")
    first = _build(store, embedder, docs)
    time.sleep(1.1)  # version names carry the second
    (docs / "b.md").write_text("# 二\n\nP-Tuning 只训练连续的提示向量。", encoding="utf-8")
    second = _build(store, embedder, docs)
    assert store.current_path() == store.root / second
    return store, first, second, docs


def test_a_truncated_vector_file_falls_back_to_the_intact_version(
    two_versions: tuple[IndexStore, str, str, Path],
) -> None:
    store, first, second, _ = two_versions
    vectors = store.root / second / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    path, problems = store.serving()
    assert path == store.root / first
    assert f"version {second}" in problems[0] and "vectors.faiss" in problems[0]
    assert problems[-1] == f"serving the intact version {first} instead"
    index = store.load()
    assert sorted(index.manifest.documents) == ["a.md"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda root, v: (root / "CURRENT").write_bytes(b"\xff\xfe\x00garbage"),
        lambda root, v: (root / "CURRENT").write_text("../../etc\n"),
        lambda root, v: (root / v / "manifest.json").write_text("{not json"),
        lambda root, v: (root / v / "chunks.sqlite").unlink(),
        lambda root, v: (root / v / "chunks.sqlite").write_bytes(b"SQLite format 3\x00junk"),
    ],
)
def test_damage_of_any_kind_is_passed_over(
    two_versions: tuple[IndexStore, str, str, Path], damage: object
) -> None:
    store, _, second, _ = two_versions
    damage(store.root, second)  # type: ignore[operator]
    path, problems = store.serving()
    assert path is not None and problems
    assert store.load().manifest.documents  # something intact serves


def test_all_damaged_says_so_and_build_full_repairs(
    two_versions: tuple[IndexStore, str, str, Path], embedder: Embedder
) -> None:
    store, first, second, docs = two_versions
    for version in (first, second):
        vectors = store.root / version / "vectors.faiss"
        vectors.write_bytes(vectors.read_bytes()[:50])
    with pytest.raises(IndexDamagedError, match=r"vectors\.faiss.*build --full"):
        store.load()
    repaired = _build(store, embedder, docs, full=True)
    path, problems = store.serving()
    assert path == store.root / repaired and problems == []
    assert sorted(store.load().manifest.documents) == ["a.md", "b.md"]


def test_info_says_when_something_is_wrong(
    two_versions: tuple[IndexStore, str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, first, second, _ = two_versions
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(store.root.parent))
    ok = CliRunner().invoke(app, ["info", "--config", TEST_CONFIG])
    assert ok.exit_code == 0, ok.output
    (store.root / second / "manifest.json").write_text("garbage")
    bad = CliRunner().invoke(app, ["info", "--config", TEST_CONFIG])
    assert bad.exit_code == 1
    assert f"version {second}" in bad.output and "manifest.json" in bad.output
    assert first in bad.output  # the version it serves instead
