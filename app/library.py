"""The knowledge bases of one installation: names, folders, and the ones served.

A knowledge base is a named index under ``index_dir`` with a documents folder. The
bundled ``default`` one indexes ``docs_dir``; one made with ``notesqa kb create NAME``
or ``POST /api/kbs`` gets ``docs_dir/NAME/`` (or a folder named at creation), recorded
in ``index_dir/NAME/kb.json``. Building ``default`` leaves out the folders of the other
knowledge bases that lie inside ``docs_dir``, so no document is indexed twice, and those
of deleted ones whose documents were kept (marked ``ingest.discover.LEFT_OUT``), so
deleting a knowledge base never moves its documents into everyone's answers.

``Library`` serves them all from one process: each is loaded on its first question and
shares the one embedder and generator (``app.service.Models``); past
``server.max_loaded_kbs`` the least recently asked is unloaded again.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.chat_store import FILE as CHATS_FILE
from app.chat_store import ChatStore
from app.service import KnowledgeBase, Models
from app.settings import KB_NAME, Settings
from app.wiring import chunking_from, embedding_spec, ocr_from, store_from
from ingest.build import BuildReport, Progress, build_index
from ingest.discover import LEFT_OUT
from ingest.embed import Embedder
from ingest.errors import AlreadyExistsError, InputError, NotFoundError
from ingest.index_locks import mark_serving, serving_pids
from ingest.store import IndexStore, Manifest, now_iso

DEFAULT = "default"
META = "kb.json"
NAME = re.compile(KB_NAME)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InputError(
            f"bad knowledge base name {name[:80]!r}: use 1-64 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting a knowledge base did with its documents folder."""

    folder: Path | None  # None: it was built from paths given to `notesqa build`
    documents_removed: bool = False
    left_out_of_default: bool = False  # kept inside the default's folder, marked LEFT_OUT
    purge_refused: bool = False  # purge asked, but notesqa did not make the folder


@dataclass(slots=True)
class KBInfo:
    name: str
    docs_dir: str | None  # None: built from paths given on the command line
    created_at: str
    indexed: bool
    documents: int = 0
    chunks: int = 0
    built_at: str = ""
    version: str = ""
    loaded: bool = False


class Library:
    def __init__(self, settings: Settings, models: Models | None = None) -> None:
        self.settings = settings
        self.models = models or Models(settings)
        self._served: OrderedDict[str, KnowledgeBase] = OrderedDict()
        self._chats: dict[str, ChatStore] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ names and folders

    def names(self) -> list[str]:
        found = {DEFAULT}
        root = self.settings.index_dir
        if root.is_dir():
            for path in root.iterdir():
                if NAME.fullmatch(path.name) and (
                    (path / META).is_file() or (path / "CURRENT").is_file()
                ):
                    found.add(path.name)
        return sorted(found, key=lambda n: (n != DEFAULT, n))

    def exists(self, name: str) -> bool:
        return NAME.fullmatch(name) is not None and name in self.names()

    def require(self, name: str) -> str:
        check_name(name)
        if name not in self.names():
            raise NotFoundError(f"no knowledge base named {name!r}; see GET /api/kbs")
        return name

    def store(self, name: str) -> IndexStore:
        return store_from(self.settings, self.require(name))

    def docs_dir(self, name: str) -> Path | None:
        """The folder a knowledge base is built from (None: it was built from paths)."""
        if self.require(name) == DEFAULT:
            return self.settings.docs_dir
        meta = self._meta(name)
        folder = meta.get("docs_dir")
        return Path(folder) if folder else None

    def _meta(self, name: str) -> dict[str, Any]:
        path = self.settings.index_dir / name / META
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def info(self, name: str) -> KBInfo:
        store = self.store(name)
        folder = self.docs_dir(name)
        info = KBInfo(
            name=name,
            docs_dir=str(folder) if folder is not None else None,
            created_at=self._meta(name).get("created_at", ""),
            indexed=store.current_path() is not None,
            loaded=self.is_loaded(name),
        )
        if info.indexed:
            manifest: Manifest = store.read_manifest()
            info.documents = len(manifest.documents)
            info.chunks = manifest.chunks
            info.built_at = manifest.built_at
            path = store.current_path()
            info.version = path.name if path else ""
        return info

    def chats(self, name: str) -> ChatStore:
        """The conversations kept for a knowledge base (in its index folder, so they go
        with it)."""
        self.require(name)
        with self._lock:
            store = self._chats.get(name)
            if store is None:
                path = self.settings.index_dir / name / CHATS_FILE
                enabled = self.settings.server.conversations == "server"
                store = self._chats[name] = ChatStore(path, enabled=enabled)
        return store

    def create(self, name: str, *, docs_dir: Path | None = None) -> KBInfo:
        """A new, empty knowledge base; its documents folder is made if missing."""
        check_name(name)
        if name in self.names():
            raise AlreadyExistsError(f"a knowledge base named {name!r} exists already")
        # A folder named at creation is kept absolute (it was relative to where the
        # command ran); the default one stays relative, like docs_dir itself.
        folder = docs_dir.resolve() if docs_dir is not None else self.settings.docs_dir / name
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder} exists and is not a folder")
        # Only a folder made here may be purged with the knowledge base: one that was
        # there already holds the user's own files, which deleting an index never removes.
        made = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / LEFT_OUT).unlink(missing_ok=True)  # a knowledge base's folder again
        root = self.settings.index_dir / name
        root.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": name,
            "docs_dir": str(folder),
            "created_at": now_iso(),
            "made_docs_dir": made,
        }
        tmp = root / f"{META}.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(root / META)
        return self.info(name)

    def check_deletable(self, name: str) -> str:
        self.require(name)
        if name == DEFAULT:
            raise InputError("the default knowledge base cannot be deleted")
        return name

    def delete(self, name: str, *, purge_documents: bool = False) -> Deletion:
        """Remove a knowledge base's index (never ``default``'s); with
        ``purge_documents`` also its documents folder when ``create`` made it (recorded
        in kb.json: a folder that was there before, or a record from before this was
        recorded, is kept). Documents kept inside the default one's folder are marked
        ``LEFT_OUT`` of it."""
        self.check_deletable(name)
        store = store_from(self.settings, name)
        folder = self.docs_dir(name)
        made = self._meta(name).get("made_docs_dir") is True
        with store.lock():  # not while a build (the CLI's or a rebuild) writes it
            with self._lock:
                served = self._served.pop(name, None)
                self._chats.pop(name, None)
            if served is not None:
                served.unload()
            store.remove()
        if folder is None:
            return Deletion(None)
        if purge_documents and made:
            shutil.rmtree(folder, ignore_errors=True)
            return Deletion(folder, documents_removed=True)
        marked = _within(folder, self.settings.docs_dir) and _mark_left_out(folder, name)
        return Deletion(folder, left_out_of_default=marked, purge_refused=purge_documents)

    # ------------------------------------------------------------ serving

    def settings_for(self, name: str) -> Settings:
        return self.settings.model_copy(update={"index_name": name})

    def get(self, name: str = DEFAULT) -> KnowledgeBase:
        """The served knowledge base (made on first use; unknown names: NotFoundError)."""
        self.require(name)
        with self._lock:
            kb = self._served.get(name)
            if kb is None:
                kb = KnowledgeBase(self.settings_for(name), models=self.models)
                self._served[name] = kb
            self._served.move_to_end(name)
            # Memory stays bounded: at most max_loaded_kbs loaded, counting this one;
            # the least recently used go first, never ``default`` (readiness reports on it).
            others = [k for k in self._served.values() if k.ready and k is not kb]
            excess = len(others) - (self.settings.server.max_loaded_kbs - 1)
            for old in [k for k in others if k.name != DEFAULT][: max(0, excess)]:
                old.unload()
        return kb

    def is_loaded(self, name: str) -> bool:
        served = self._served.get(name)
        return served is not None and served.ready

    def close(self) -> None:
        self.models.close()

    # A running server marks the index folder, so a build (of any knowledge base) can
    # yield the CPU to it (`notesqa build`).
    def mark_serving(self, pid: int) -> Path:
        return mark_serving(self.settings.index_dir, pid)

    def serving_pids(self) -> list[int]:
        return serving_pids(self.settings.index_dir)

    # ------------------------------------------------------------ building

    def sources(self, name: str) -> tuple[list[Path], list[Path]]:
        """The folders a build of ``name`` reads, and those inside them it leaves out
        (other knowledge bases' folders within the default one's)."""
        folder = self.docs_dir(name)
        if folder is None:
            raise InputError(
                f"knowledge base {name!r} was built from paths given to `notesqa build`: "
                "give them again (it has no documents folder of its own)"
            )
        exclude: list[Path] = []
        if name == DEFAULT:
            others = [self.docs_dir(other) for other in self.names() if other != DEFAULT]
            exclude += [d for d in others if d is not None and _within(d, folder)]
        return [folder], exclude

    def build(
        self,
        name: str,
        *,
        embedder: Embedder,
        paths: Sequence[Path] | None = None,
        full: bool = False,
        progress: Progress | None = None,
        settings: Settings | None = None,
        spec: dict[str, str] | None = None,
    ) -> BuildReport:
        """Build (incrementally) a knowledge base from its folder or from ``paths``;
        ``spec`` says how ``embedder`` is made, when not as ``settings`` say."""
        settings = settings or self.settings
        exclude: list[Path] = []
        if paths:
            given = list(paths)
        else:
            given, exclude = self.sources(name)
        return build_index(
            given,
            store=store_from(settings, name),
            embedder=embedder,
            chunking=chunking_from(settings),
            max_file_bytes=int(settings.max_file_mb * 1_000_000),
            full=full,
            progress=progress,
            exclude=exclude,
            follow_symlinks=settings.follow_symlinks,
            ocr=ocr_from(settings),
            embedding_spec=spec or embedding_spec(settings),
        )


def _mark_left_out(folder: Path, name: str) -> bool:
    """Mark a deleted knowledge base's kept folder ``LEFT_OUT`` of the default one's
    builds; False when it cannot be (gone already, or read-only)."""
    try:
        (folder / LEFT_OUT).write_text(
            f"Knowledge base {name!r} was deleted on {now_iso()} and its documents kept: "
            "notesqa's default knowledge base leaves this folder out while this file "
            "is here.\n",
            encoding="utf-8",
        )
    except OSError:
        return False
    return True


def _within(path: Path, folder: Path) -> bool:
    """Inside ``folder`` and not ``folder`` itself (a knowledge base made on the default
    one's folder must not leave all of it out)."""
    inner, outer = path.resolve(), folder.resolve()
    return inner != outer and inner.is_relative_to(outer)
