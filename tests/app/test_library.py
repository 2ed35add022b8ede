"""Knowledge bases: names, folders, the default one's exclusions, bounded loading, the
CLI's `kb` commands. Real embedding model and FAISS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.library import DEFAULT, Library, check_name
from app.service import Models
from app.settings import Settings
from ingest.discover import LEFT_OUT
from ingest.embed import Embedder
from ingest.errors import AlreadyExistsError, InputError, NotFoundError

runner = CliRunner()
TEST_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "test.yaml")


@pytest.fixture
def library(tmp_path: Path, notes_settings: Settings, embedder: Embedder) -> Library:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(
        "# 默认\n\n默认知识库里的一篇笔记，讲检索增强生成。", encoding="utf-8"
    )
    settings = notes_settings.model_copy(
        update={"index_dir": tmp_path / "indexes", "docs_dir": docs}
    )
    return Library(settings, Models(settings, embedder=embedder))


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        ".",
        "a/b",
        "a\\b",
        "../x",
        "x.y",
        "-rm",
        "a b",
        "名字",
        "a\x00b",
        "x" * 65,
        "team\n",
    ],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="knowledge base name"):
        check_name(name)


def test_create_records_the_folder_and_default_leaves_it_out(
    library: Library, embedder: Embedder
) -> None:
    info = library.create("hr")
    folder = library.settings.docs_dir / "hr"
    assert info.docs_dir == str(folder) and folder.is_dir() and not info.indexed
    meta = json.loads((library.settings.index_dir / "hr" / "kb.json").read_text())
    assert meta["docs_dir"] == str(folder)
    (folder / "leave.txt").write_text("年假为每年十五天，需提前一周申请。", encoding="utf-8")
    with pytest.raises(AlreadyExistsError):
        library.create("hr")

    hr = library.build("hr", embedder=embedder)
    default = library.build(DEFAULT, embedder=embedder)
    assert hr.added == ["leave.txt"]
    assert default.added == ["a.md"]  # hr/leave.txt belongs to hr only
    assert library.names() == [DEFAULT, "hr"]
    hit = library.get("hr").load().search("年假有几天？").hits[0]
    assert hit.chunk.source == "leave.txt"
    assert all(h.chunk.source == "a.md" for h in library.get(DEFAULT).load().search("年假").hits)


def test_unknown_and_default_cannot_be_deleted(library: Library) -> None:
    with pytest.raises(NotFoundError):
        library.get("nope")
    with pytest.raises(InputError, match="default"):
        library.delete(DEFAULT)


def test_delete_keeps_documents_unless_purged(library: Library) -> None:
    library.create("a")
    library.create("b")
    (library.settings.docs_dir / "a" / "x.txt").write_text("内容", encoding="utf-8")
    kept = library.delete("a")
    assert not kept.documents_removed and kept.folder == library.settings.docs_dir / "a"
    assert (library.settings.docs_dir / "a" / "x.txt").is_file()
    assert "a" not in library.names()
    assert library.delete("b", purge_documents=True).documents_removed
    assert not (library.settings.docs_dir / "b").exists()


def test_purge_keeps_a_folder_that_was_there_before_the_knowledge_base(
    library: Library,
) -> None:
    own = library.settings.docs_dir / "papers"
    own.mkdir()
    (own / "mine.txt").write_text("我自己的论文笔记。", encoding="utf-8")
    library.create("papers")
    done = library.delete("papers", purge_documents=True)
    assert done.purge_refused and not done.documents_removed
    assert (own / "mine.txt").read_text(encoding="utf-8") == "我自己的论文笔记。"
    # A record from before kb.json said who made the folder is kept too.
    library.create("old")
    meta = library.settings.index_dir / "old" / "kb.json"
    record = json.loads(meta.read_text(encoding="utf-8"))
    del record["made_docs_dir"]
    meta.write_text(json.dumps(record), encoding="utf-8")
    assert library.delete("old", purge_documents=True).purge_refused
    assert (library.settings.docs_dir / "old").is_dir()


def test_a_deleted_knowledge_bases_kept_documents_stay_out_of_the_default_one(
    library: Library, embedder: Embedder, tmp_path: Path
) -> None:
    library.create("hr")
    (library.settings.docs_dir / "hr" / "leave.txt").write_text(
        "年假为每年十五天，需提前一周申请。", encoding="utf-8"
    )
    library.build("hr", embedder=embedder)
    assert library.delete("hr").left_out_of_default
    assert (library.settings.docs_dir / "hr" / LEFT_OUT).is_file()
    built = library.build(DEFAULT, embedder=embedder)
    assert built.added == ["a.md"]  # not hr/leave.txt: deleting hr exposed nothing
    # Made again, it is a knowledge base's folder again: its own build reads it.
    library.create("hr")
    assert not (library.settings.docs_dir / "hr" / LEFT_OUT).exists()
    assert library.build("hr", embedder=embedder).added == ["leave.txt"]
    # Elsewhere, or on the default one's folder itself, nothing is marked.
    library.create("away", docs_dir=tmp_path / "away")
    assert not library.delete("away").left_out_of_default
    library.create("same", docs_dir=library.settings.docs_dir)
    assert library.build(DEFAULT, embedder=embedder).unchanged == ["a.md"]  # not all out
    assert not library.delete("same").left_out_of_default
    assert library.build(DEFAULT, embedder=embedder).unchanged == ["a.md"]


def test_loaded_knowledge_bases_are_bounded(library: Library, embedder: Embedder) -> None:
    server = library.settings.server.model_copy(update={"max_loaded_kbs": 2})
    library.settings = library.settings.model_copy(update={"server": server})
    for name in ("one", "two"):
        library.create(name)
        (library.settings.docs_dir / name / f"{name}.txt").write_text(
            f"{name} 的笔记内容。", encoding="utf-8"
        )
        library.build(name, embedder=embedder)
    library.build(DEFAULT, embedder=embedder)
    for name in (DEFAULT, "one", "two"):
        library.get(name).load()
    # default stays (readiness reports on it); of the others only the latest is kept.
    assert [library.is_loaded(n) for n in (DEFAULT, "one", "two")] == [True, False, True]


def test_cli_kb_list_create_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTESQA_DOCS_DIR", str(tmp_path / "docs"))
    result = runner.invoke(app, ["kb", "create", "team", "--config", TEST_CONFIG])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "docs" / "team") in result.output
    (tmp_path / "docs" / "team" / "n.txt").write_text("团队的笔记。", encoding="utf-8")
    result = runner.invoke(app, ["build", "--index", "team", "--config", TEST_CONFIG])
    assert result.exit_code == 0 and "1 added" in result.output, result.output
    result = runner.invoke(app, ["kb", "list", "--config", TEST_CONFIG])
    assert "team" in result.output and "1 documents" in result.output
    result = runner.invoke(app, ["kb", "delete", "team", "--yes", "--config", TEST_CONFIG])
    assert result.exit_code == 0 and "documents stay" in result.output
    assert "left out of the default one" in result.output
    result = runner.invoke(app, ["build", "--index", "team", "--config", TEST_CONFIG])
    assert result.exit_code == 1 and "kb create team" in result.output
    result = runner.invoke(app, ["kb", "create", "../up", "--config", TEST_CONFIG])
    assert result.exit_code == 1 and "bad knowledge base name" in result.output
    # Refused before the question, not after a "y".
    result = runner.invoke(app, ["kb", "delete", "default", "--config", TEST_CONFIG], input="y\n")
    assert result.exit_code == 1 and "cannot be deleted" in result.output
    assert "delete knowledge base" not in result.output
