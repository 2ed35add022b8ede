"""A served knowledge base: its current index version, kept fresh, over shared models.

``Models`` holds the one embedder and the one generator a process needs, made lazily;
every ``KnowledgeBase`` (one per index, ``app.library``) shares them. A knowledge base
loads its current index version; each request first checks whether a build has
published a newer version (one small file read) and switches to it, so rebuilding never
needs a restart, and a failed build simply leaves the old version serving.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

from app.answer import Answerer
from app.llm.base import Closeable, Generator, Health, Monitored
from app.retrieve import Retriever
from app.settings import Settings
from app.wiring import (
    Search,
    answerer_from,
    embedder_from,
    embedding_spec,
    generator_from,
    retriever_from,
    search_from,
    settings_for_spec,
    store_from,
)
from ingest.embed import Embedder
from ingest.errors import NotesQAError
from ingest.store import IndexStore, Manifest

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Loaded:
    retriever: Retriever
    search: Search
    answerer: Answerer
    version: str


class Models:
    """The embedder and the generator, each made once on first use and shared."""

    def __init__(
        self,
        settings: Settings,
        *,
        generator: Generator | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self._generator = generator
        self._embedder = embedder
        self._others: dict[str, Embedder] = {}  # by spec: models older or newer versions name
        self._lock = threading.Lock()

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            with self._lock:
                if self._generator is None:
                    self._generator = generator_from(self.settings)
        return self._generator

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = embedder_from(self.settings, for_queries=True)
        return self._embedder

    def embedder_for(self, spec: dict[str, str]) -> Embedder:
        """The embedder a manifest's ``embedding_spec`` names: the configured one when it
        is that (or the manifest predates specs), else one made from the spec, once. So a
        version built with another model is queried with it: moving a knowledge base to
        a new model needs no restart and no downtime."""
        if not spec or spec == embedding_spec(self.settings):
            return self.embedder
        key = json.dumps(spec, sort_keys=True)
        with self._lock:
            if key not in self._others:
                other = settings_for_spec(self.settings, spec)
                self._others[key] = embedder_from(other, for_queries=True)
            return self._others[key]

    def generator_health(self) -> Health:
        """The model's state; a generator that cannot go down is always ready."""
        generator = self._generator
        if generator is None:
            return Health("starting", "loading the model")
        return generator.health() if isinstance(generator, Monitored) else Health("ready")

    def restarts(self) -> int:
        """How often the model's worker was restarted (0 for a generator without one)."""
        generator = self._generator
        return generator.restarts if isinstance(generator, Monitored) else 0

    def close(self) -> None:
        """Stop what runs beside this process (the model worker)."""
        generator = self._generator
        if isinstance(generator, Closeable):
            generator.close()


class KnowledgeBase:
    """One index served: ``settings.index_name`` names it."""

    def __init__(
        self,
        settings: Settings,
        *,
        generator: Generator | None = None,
        embedder: Embedder | None = None,
        models: Models | None = None,
    ) -> None:
        self.settings = settings
        self.store: IndexStore = store_from(settings)
        self.models = models or Models(settings, generator=generator, embedder=embedder)
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()
        self.error: NotesQAError | None = None
        self.problems: list[str] = []  # damaged versions passed over (ingest.integrity)

    @property
    def name(self) -> str:
        return self.store.name

    @property
    def generator(self) -> Generator:
        return self.models.generator

    @property
    def embedder(self) -> Embedder:
        return self.models.embedder

    def current_embedding(self) -> tuple[Embedder, dict[str, str]]:
        """The embedder of the version serving now, and its spec (the configured ones
        before the first build): what an incremental rebuild must embed with."""
        try:
            spec = self.store.read_manifest().embedding_spec
        except NotesQAError:
            spec = {}
        spec = spec or embedding_spec(self.settings)
        return self.models.embedder_for(spec), spec

    def load(self) -> Loaded:
        """The current index version, loading or switching to a newer one when needed."""
        path, problems = self.store.serving()
        if problems != self.problems:  # said once, not on every request
            self.problems = problems
            for line in problems:
                log.warning("%s", line)
        loaded = self._loaded
        if loaded is not None and path is not None and path.name == loaded.version:
            return loaded
        with self._lock:
            if self._loaded is not None and path is not None and path.name == self._loaded.version:
                return self._loaded
            try:
                embedder, _ = self.current_embedding()
                retriever = retriever_from(self.settings, embedder=embedder)
            except NotesQAError as exc:
                self.error = exc
                if self._loaded is not None:  # keep serving what we have
                    log.warning("keeping index %s: %s", self._loaded.version, exc)
                    return self._loaded
                raise
            search = search_from(self.settings, retriever, lambda: self.generator)
            answerer = answerer_from(self.settings, search, self.generator)
            old = self._loaded
            self._loaded = Loaded(retriever, search, answerer, retriever.index.version)
            self.error = None
            if old is not None:
                log.info("switched to index version %s", retriever.index.version)
            return self._loaded

    @property
    def ready(self) -> bool:
        return self._loaded is not None

    def unload(self) -> None:
        """Forget the loaded version (requests holding it finish with it); the next
        request loads it again."""
        with self._lock:
            self._loaded = None

    def generator_health(self) -> Health:
        return self.models.generator_health()

    def close(self) -> None:
        self.models.close()

    def manifest(self) -> Manifest:
        return self.load().retriever.index.manifest
