"""The build pipeline with the real embedding model, on small files: the store suite,
run with vectors in real FAISS and in Milvus Lite (``store_options``)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from building import build, collections_of, named_collections

from ingest.embed import Embedder
from ingest.errors import IndexMismatchError, IndexNotFoundError, InputError
from ingest.milvus_client import close_client
from ingest.store import IndexStore, StoreOptions

ROOT = Path(__file__).resolve().parents[2]

DOC_A = (
    "# 检索增强\n\n外挂知识库先把文件转换为文本，再做文本分割。"
    + "分割后的文本会被向量化并存入向量库。" * 3
)
DOC_B = "# 微调\n\nLoRA 在冻结的模型旁加入低秩矩阵，只训练很少的参数。" * 2
DOC_C = "# 评估\n\nC-Eval 提供了一万多道多项选择题，覆盖五十多个学科。"


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.embedded: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_documents(self, texts, *, progress=None):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts, progress=progress)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        return self.inner.embed_query(text)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(DOC_A, encoding="utf-8")
    (folder / "b.txt").write_bytes(DOC_B.encode("gbk"))  # GBK, as many Chinese files are
    (folder / "c.html").write_text(f"<h1>评估</h1><p>{DOC_C}</p><script>x()</script>")
    return folder


@pytest.fixture
def store(tmp_path: Path, store_options: StoreOptions) -> IndexStore:
    return IndexStore(tmp_path / "indexes" / "t", options=store_options)


def test_build_then_search(docs: Path, store: IndexStore, embedder: Embedder) -> None:
    report = build(store, embedder, docs)
    assert report.ok and sorted(report.added) == ["a.md", "b.txt", "c.html"]
    index = store.load(embedding_model=embedder.name, dim=embedder.dim)
    assert len(index) == report.chunks == index.manifest.chunks
    (row, _), *_ = index.search(embedder.embed_query("LoRA 训练多少参数"), 3)
    assert index.chunks([row])[0].source == "b.txt"
    manifest = index.manifest
    assert manifest.embedding_model == embedder.name and manifest.dim == 384
    assert (
        manifest.documents["b.txt"].sha256
        == hashlib.sha256((docs / "b.txt").read_bytes()).hexdigest()
    )


def test_incremental_rebuild_embeds_only_the_changed_file(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    build(store, embedder, docs)
    counting = CountingEmbedder(embedder)
    again = build(store, counting, docs)
    assert counting.embedded == [] and sorted(again.unchanged) == ["a.md", "b.txt", "c.html"]

    (docs / "a.md").write_text(DOC_A + "\n\n新增的一段：向量库可以是 FAISS。", encoding="utf-8")
    changed = build(store, counting, docs)
    assert changed.updated == ["a.md"] and sorted(changed.unchanged) == ["b.txt", "c.html"]
    index = store.load()
    a_chunks = [c for _, c in index.rows_of("a.md")]
    assert len(counting.embedded) == len(a_chunks) == changed.embedded_chunks
    assert all("检索增强" in t for t in counting.embedded)  # only a.md's chunks
    # reused vectors still find their documents
    (row, _), *_ = index.search(embedder.embed_query("C-Eval 有多少道选择题"), 1)
    assert index.chunks([row])[0].source == "c.html"


def test_full_rebuild_embeds_everything(docs: Path, store: IndexStore, embedder: Embedder) -> None:
    first = build(store, embedder, docs)
    counting = CountingEmbedder(embedder)
    build(store, counting, docs, full=True)
    assert len(counting.embedded) == first.chunks


def test_removed_file_leaves_the_index(docs: Path, store: IndexStore, embedder: Embedder) -> None:
    build(store, embedder, docs)
    (docs / "b.txt").unlink()
    report = build(store, embedder, docs)
    assert report.removed == ["b.txt"]
    index = store.load()
    assert "b.txt" not in index.manifest.documents
    assert all(c.source != "b.txt" for _, c in index.all_chunks())


def _png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _docx_with_body(xml: bytes) -> bytes:
    """A real .docx whose ``word/document.xml`` is ``xml`` (a damaged one)."""
    import io
    import zipfile

    import docx

    made = io.BytesIO()
    docx.Document().save(made)
    out = io.BytesIO()
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = xml if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item, data)
    return out.getvalue()


def test_bad_inputs_are_reported_and_the_rest_is_built(
    docs: Path, tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs / "huge.txt").write_text("大" * 60_000, encoding="utf-8")  # over 100 kB
    (docs / "picture.png").write_bytes(b"\x89PNG")  # a truncated picture
    (docs / "backup.zip").write_bytes(b"PK\x03\x04")
    (docs / "bomb.png").write_bytes(_png_header(30_000, 30_000))  # Pillow's own bomb error
    (docs / "cut.docx").write_bytes(_docx_with_body(b"<w:document><w:body><w:p><w:t>unclosed"))
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    before = {p.name: p.read_bytes() for p in docs.iterdir()}

    report = build(store, embedder, docs, tmp_path / "missing", empty_dir)

    reasons = {Path(p).name: r for p, r in report.failed}
    assert "empty file" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "limit" in reasons["huge.txt"]
    assert "no such file" in reasons["missing"]
    assert "no supported files" in reasons["empty"]
    assert "not a readable picture" in reasons["picture.png"]
    assert "picture too large" in reasons["bomb.png"]
    assert "damaged or unreadable .docx (XMLSyntaxError" in reasons["cut.docx"]
    assert [Path(p).name for p, _ in report.skipped] == ["backup.zip"]
    assert not report.ok
    assert sorted(report.added) == ["a.md", "b.txt", "c.html"]
    assert {p.name: p.read_bytes() for p in docs.iterdir()} == before  # nothing modified


def test_a_file_grown_past_the_size_limit_keeps_its_indexed_chunks(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    grows = docs / "grows.txt"
    grows.write_text("# 增长\n\n蓝鲸项目的预算是三百万元。\n" + "记录。" * 100, encoding="utf-8")
    build(store, embedder, docs)
    grows.write_text(grows.read_text(encoding="utf-8") + "大" * 60_000, encoding="utf-8")
    report = build(store, embedder, docs)
    assert "limit" in dict(report.failed)[str(grows)]
    assert report.removed == [] and "grows.txt" in store.read_manifest().documents
    assert any("蓝鲸项目" in c.text for _, c in store.load().all_chunks())


def test_nothing_to_index_keeps_the_previous_index(
    docs: Path, tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    build(store, embedder, docs)
    version = store.current_path()
    empty = tmp_path / "only-empty"
    empty.mkdir()
    (empty / "e.txt").write_text("   \n")
    with pytest.raises(InputError, match="previous index is kept"):
        build(store, embedder, empty)
    assert store.current_path() == version


def test_nothing_to_index_names_what_failed(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    with pytest.raises(InputError, match=r"nothing to index.*nowhere: no such file"):
        build(store, embedder, tmp_path / "nowhere")
    assert store.current_path() is None


def test_a_missing_path_never_removes_documents(
    docs: Path, tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    build(store, embedder, docs)
    report = build(store, embedder, docs / "a.md", tmp_path / "typo")
    assert report.removed == []
    assert sorted(store.load().manifest.documents) == ["a.md", "b.txt", "c.html"]


def test_model_mismatch_says_to_rebuild(docs: Path, store: IndexStore, embedder: Embedder) -> None:
    build(store, embedder, docs)
    with pytest.raises(IndexMismatchError, match="notesqa build --full"):
        store.load(embedding_model="sentence-transformers/m3e-small", dim=512)


def test_no_index_yet(store: IndexStore) -> None:
    with pytest.raises(IndexNotFoundError, match="notesqa build"):
        store.load()


def test_a_failed_write_leaves_the_previous_version(
    docs: Path, store: IndexStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(store, embedder, docs)
    version = store.current_path()
    (docs / "a.md").write_text(DOC_A + "改动。", encoding="utf-8")

    def explode(self: object, folder: Path, new: object) -> None:
        (folder / "partial").write_text("half written")
        raise OSError("disk full")

    monkeypatch.setattr(IndexStore, "_write", explode)
    with pytest.raises(OSError, match="disk full"):
        build(store, embedder, docs)
    assert store.current_path() == version
    assert not list(store.root.glob(".tmp-*"))
    assert store.load().search(embedder.embed_query("文本分割"), 1)


def test_sigkill_mid_build_leaves_the_old_index_searchable(
    docs: Path, tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    settings_dir = store.root.parent
    build(store, embedder, docs)
    version = store.current_path()
    big = tmp_path / "big"
    big.mkdir()
    for i in range(12):
        (big / f"n{i}.txt").write_text(
            "".join(f"第{i}篇第{j}句：大模型的训练需要大量算力和数据。" for j in range(60)),
            encoding="utf-8",
        )
    env = {
        **os.environ,
        "NOTESQA_INDEX_DIR": str(settings_dir),
        "NOTESQA_INDEX_NAME": "t",
        "NOTESQA_CONFIG": str(ROOT / "configs" / "test.yaml"),
    }
    milvus = store.options.milvus if store.options.backend == "milvus" else None
    if milvus is not None:  # Milvus Lite serves one process at a time: the build's now
        close_client(milvus.uri)
        env |= {"NOTESQA_STORE__BACKEND": "milvus", "NOTESQA_STORE__MILVUS_URI": milvus.uri}
    with (tmp_path / "build.err").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "build", str(big)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        # ~100 chunks take well over 5 s to embed on 2 cores: kill it while it works.
        time.sleep(5.0)
        ended = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
    assert not ended, "the build ended first: " + (tmp_path / "build.err").read_text()[-500:]
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert store.current_path() == version
    index = store.load(embedding_model=embedder.name, dim=embedder.dim)
    assert sorted(index.manifest.documents) == ["a.md", "b.txt", "c.html"]
    (row, _), *_ = index.search(embedder.embed_query("LoRA"), 1)
    assert index.chunks([row])[0].source == "b.txt"
    # and the next build cleans up and succeeds
    assert build(store, embedder, docs).ok
    assert not list(store.root.glob(".tmp-*"))
    if milvus is not None:  # a collection the killed build wrote is dropped too
        assert collections_of(store) == named_collections(store)


def test_full_rebuild_reports_updates_and_keeps_a_now_broken_file(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    build(store, embedder, docs)
    (docs / "b.txt").write_bytes(bytes(range(256)) * 8)  # b.txt turned into garbage
    report = build(store, embedder, docs, full=True)
    assert sorted(report.updated) == ["a.md", "c.html"] and report.added == []
    assert [Path(p).name for p, _ in report.failed] == ["b.txt"]
    index = store.load()
    assert sorted(index.manifest.documents) == ["a.md", "b.txt", "c.html"]  # old b.txt kept


def test_a_subfolder_marked_left_out_is_not_read(docs: Path) -> None:
    """The mark of a deleted knowledge base's kept folder (``app.library`` writes it)."""
    from ingest.discover import LEFT_OUT, folder_files

    (docs / "old").mkdir()
    (docs / "old" / "kept.txt").write_text("旧知识库的文件。", encoding="utf-8")
    (docs / "old" / "-first.txt").write_text("排在标记之前的文件。", encoding="utf-8")
    (docs / "old" / LEFT_OUT).write_text("", encoding="utf-8")
    names = sorted(p.name for p in folder_files(docs)[0])
    assert names == ["a.md", "b.txt", "c.html"]
    (docs / LEFT_OUT).write_text("", encoding="utf-8")  # on the folder built: no effect
    assert sorted(p.name for p in folder_files(docs)[0]) == names
    assert sorted(p.name for p in folder_files(docs / "old")[0]) == ["-first.txt", "kept.txt"]


def test_a_file_name_that_is_not_utf8_is_reported_and_the_rest_built(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    """Bytes that are not UTF-8 in a name (an old archive's GBK names) reach Python as
    lone surrogates, which no chunk id or reply can carry: one such file must not stop
    the build of the whole folder."""
    from ingest.discover import NOT_UTF8

    bad = docs / os.fsdecode(b"\xd6\xd0\xce\xc4.txt")  # "中文" in GBK
    bad.write_text("用旧压缩包解开的笔记。", encoding="utf-8")
    report = build(store, embedder, docs)
    assert sorted(report.added) == ["a.md", "b.txt", "c.html"]
    assert dict(report.skipped)[str(docs / "\ufffd\ufffd\ufffd\ufffd.txt")] == NOT_UTF8
    json.dumps(report.skipped, ensure_ascii=False).encode("utf-8")  # printable as it is
    with pytest.raises(InputError, match="not valid UTF-8"):  # named on its own
        build(store, embedder, bad)
    assert store.read_manifest().documents.keys() == {"a.md", "b.txt", "c.html"}


def test_symlinks_out_of_the_folder_are_not_followed(
    docs: Path, store: IndexStore, embedder: Embedder, tmp_path: Path
) -> None:
    secret = tmp_path / "private.txt"
    secret.write_text("私人文件：银行卡密码是 314159。", encoding="utf-8")
    (docs / "leak.txt").symlink_to(secret)
    (docs / "same.md").symlink_to(docs / "a.md")  # inside the folder: read
    (docs / "up").symlink_to(docs, target_is_directory=True)
    (docs / "loop1.txt").symlink_to(docs / "loop2.txt")
    (docs / "loop2.txt").symlink_to(docs / "loop1.txt")
    (docs / "gone.txt").symlink_to(tmp_path / "missing.txt")
    os.mkfifo(docs / "pipe.txt")  # left out as not a file; behind a link too, or it hangs
    (docs / "to-pipe.txt").symlink_to(docs / "pipe.txt")
    report = build(store, embedder, docs)
    assert sorted(report.added) == ["a.md", "b.txt", "c.html", "same.md"]
    reasons = dict(report.skipped)
    assert "outside the folder" in reasons[str(docs / "leak.txt")]
    assert reasons[str(docs / "loop1.txt")] == "symlink loop"
    assert reasons[str(docs / "loop2.txt")] == "symlink loop"
    assert reasons[str(docs / "gone.txt")] == "broken symlink"
    assert "not a regular file" in reasons[str(docs / "to-pipe.txt")]
    assert "folder" in reasons[str(docs / "up")]
    index = store.load()
    assert not any("314159" in c.text for _, c in index.all_chunks())

    followed = build(store, embedder, docs, follow_symlinks=True)
    assert followed.added == ["leak.txt"]


def test_a_document_cleaning_would_gut_is_indexed_uncleaned(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    docs = tmp_path / "report"
    docs.mkdir()
    # A heading the cleaner takes for a "related articles" widget, then a short list:
    # real content to the team that wrote it.
    (docs / "q1.md").write_text(
        "相关文章\n1. 2023年第一季度销售额同比增长12%\n2. 华东区贡献了一半的增量\n"
        "3. 下季度目标为增长15%",
        encoding="utf-8",
    )
    (docs / "a.md").write_text(DOC_A, encoding="utf-8")
    report = build(store, embedder, docs)
    assert report.ok and sorted(report.added) == ["a.md", "q1.md"]
    assert any(n.startswith("q1.md: indexed uncleaned") for n in report.notes), report.notes
    text = " ".join(c.text for _, c in store.load().rows_of("q1.md"))
    assert "华东区贡献了一半的增量" in text
    assert not any(n.startswith("a.md") for n in report.notes)  # cleaned as usual


def test_a_format_1_index_still_serves_and_the_next_build_upgrades_it(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    """An index built before chunks had an origin (format 1): made from a new one by
    dropping the column, with its checksums redone as that version wrote them."""
    import json
    import sqlite3

    from ingest.integrity import file_checksums

    build(store, embedder, docs)
    version = store.current_path()
    assert version is not None
    db = sqlite3.connect(version / "chunks.sqlite")
    db.execute("ALTER TABLE chunks DROP COLUMN origin")
    db.commit()
    db.close()
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    manifest["files"] = file_checksums(version)
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    index = store.load()
    assert index.manifest.format_version == 1
    assert {c.origin for _, c in index.all_chunks()} == {"text"}
    index.close()
    report = build(store, embedder, docs)
    assert "index format changed: reading and splitting every document again" in report.notes
    assert store.load().manifest.format_version == 2


class DyingEmbedder(CountingEmbedder):
    """The real embedder, killed (as by Ctrl-C or the OOM killer) on its ``calls``-th call."""

    def __init__(self, inner: Embedder, calls: int) -> None:
        super().__init__(inner)
        self.calls_left = calls

    def embed_documents(self, texts, *, progress=None):  # type: ignore[no-untyped-def]
        self.calls_left -= 1
        if self.calls_left == 0:
            raise KeyboardInterrupt
        return super().embed_documents(texts, progress=progress)


def _many_paragraphs(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = f"# 第{i}节\n\n第{i}节讲的是第{i}种方法：先准备数据，再训练模型，最后评估效果。"
        (folder / f"p{i:02d}.md").write_text(text, encoding="utf-8")


def test_a_killed_build_resumes_without_embedding_again(
    tmp_path: Path, store: IndexStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.embed_cache

    monkeypatch.setattr(ingest.embed_cache, "BATCH", 3)  # 12 chunks: 4 batches
    docs = tmp_path / "many"
    _many_paragraphs(docs, 12)
    dying = DyingEmbedder(embedder, calls=3)
    with pytest.raises(KeyboardInterrupt):
        build(store, dying, docs)
    assert store.current_path() is None and len(dying.embedded) == 6  # two batches done

    counting = CountingEmbedder(embedder)
    report = build(store, counting, docs)
    assert report.chunks == 12 and len(counting.embedded) == 6
    assert (report.embedded_chunks, report.cached_chunks) == (6, 6)


def test_an_edited_document_embeds_only_its_changed_chunks(
    tmp_path: Path, store: IndexStore, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    parts = [f"# 第{i}节\n\n" + f"第{i}节的内容是关于第{i}个主题的详细说明。" * 8 for i in range(4)]
    (docs / "long.md").write_text("\n\n".join(parts), encoding="utf-8")
    first = build(store, embedder, docs)
    assert first.chunks >= 4
    parts[2] = "# 第2节\n\n这一节被重写了，讲的是完全不同的内容。"
    (docs / "long.md").write_text("\n\n".join(parts), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    report = build(store, counting, docs)
    assert report.updated == ["long.md"]
    assert counting.embedded == [t for t in counting.embedded if "重写" in t] != []
    assert report.cached_chunks == report.chunks - len(counting.embedded)


class Stages:
    """A Progress recording each stage and how far it got."""

    def __init__(self) -> None:
        self.stages: list[list[object]] = []

    def start(self, stage: str, total: int) -> None:
        self.stages.append([stage, total, 0])

    def advance(self, n: int = 1) -> None:
        self.stages[-1][2] += n  # type: ignore[operator]


def test_documents_stream_through_read_and_their_texts_are_spooled_to_disk(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    store.root.mkdir(parents=True)
    (store.root / ".spool-dead0000.sqlite").write_bytes(b"a killed build's spool")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    progress = Stages()
    report = build(store, embedder, docs, progress=progress)
    # One read stage over every document (the failed one too), then embed, then write.
    assert progress.stages == [
        ["read", 4, 4],
        ["embed", report.chunks, report.chunks],
        ["write", report.chunks, report.chunks],
    ]
    assert not list(store.root.glob(".spool-*"))  # this build's, and the stale one
    index = store.load()
    assert "低秩矩阵" in (index.document_text("b.txt") or "")  # the spooled text was stored
    # Unchanged documents' texts go through the spool from the previous version.
    (docs / "c.html").unlink()
    build(store, embedder, docs)
    assert "低秩矩阵" in (store.load().document_text("b.txt") or "")


def test_changed_split_rules_re_split_every_document(
    docs: Path, store: IndexStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged files keep their chunks only while the rules that made them are the same."""
    import ingest.split

    first = build(store, embedder, docs)
    assert store.read_manifest().chunking == {"size": 300, "overlap": 60, "rules": 1}
    monkeypatch.setattr(ingest.split, "SPLIT_RULES", 2)
    again = build(store, embedder, docs)
    # Every file read and split again (the embedding cache still spares unchanged texts).
    assert again.unchanged == [] and sorted(again.added) == sorted(first.added)
    assert any(n.startswith("chunking changed") for n in again.notes)
    assert store.read_manifest().chunking["rules"] == 2


def test_an_index_from_before_the_rules_version_is_reused(
    docs: Path, store: IndexStore, embedder: Embedder
) -> None:
    import json

    build(store, embedder, docs)
    version = store.current_path()
    assert version is not None
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    manifest["chunking"] = {"size": 300, "overlap": 60}  # as such a build wrote it
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    counting = CountingEmbedder(embedder)
    again = build(store, counting, docs)
    assert counting.embedded == [] and sorted(again.unchanged) == ["a.md", "b.txt", "c.html"]
