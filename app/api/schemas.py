"""Request and response models of the HTTP API (pydantic at the edge only)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from app.limits import is_unicode
from app.settings import KB_NAME

# Lengths of questions and history are the settings' to bound (``answer.max_question_chars``
# and ``limits.*``, checked by the answerer with a 413); the schema holds no caps that would
# override them. Memory is bounded before any of this by the body limit (``app.api.body_limit``).


def _encodable(data: Any) -> bool:
    # A loop, not recursion: a body nested as deep as json.loads allows must not raise
    # RecursionError here.
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not is_unicode(value):
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


class Body(BaseModel):
    """A request body: any text in it that is not valid Unicode (JSON allows a lone
    surrogate, ``"\\ud800"``, in a key or a value) is a 422 ``invalid_text``, wherever it is:
    pydantic refuses some such strings itself and lets others (unions, extra fields) through."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        if not _encodable(data):
            raise PydanticCustomError(
                "invalid_text", "the request holds characters that are not valid Unicode"
            )
        return data


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


KB_FIELD = Field("default", min_length=1, max_length=64, description="knowledge base name")


class SearchRequest(Body):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=2000)
    kb: str = KB_FIELD
    explain: bool = Field(False, description="say why the question would be answered or refused")
    top_k: int = Field(5, ge=1, le=50)
    sources: list[str] | None = Field(None, description="file names or globs to search in")


Origin = Literal["text", "table", "ocr"]


class HitOut(BaseModel):
    rank: int
    score: float
    relevance: float
    text: str
    source: str
    page: int | None
    heading: str
    chunk_id: str
    start: int
    end: int
    origin: Origin = "text"  # the file's text, one of its tables, or OCR of a picture
    scores: dict[str, float] = {}  # dense, bm25, fused, coverage (rerank when reranking)


class SearchResponse(BaseModel):
    kb: str
    hits: list[HitOut]
    found: bool
    translation: str | None = None
    explain: dict[str, Any] | None = None


class AskRequest(Body):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    kb: str = KB_FIELD
    explain: bool = Field(False, description="say stage by stage why it was answered or refused")
    top_k: int | None = Field(None, ge=1, le=20)
    history: list[Turn] = Field(default_factory=list)
    stream: bool = False
    sources: list[str] | None = None


class SourceOut(BaseModel):
    n: int
    source: str
    page: int | None
    heading: str
    chunk_id: str
    start: int
    end: int
    text: str
    quote_start: int
    quote_end: int
    chunk_ids: list[str]
    origin: Origin = "text"
    document_id: str = Field("", description="GET /api/kbs/{kb}/documents/{id}/text")


class ChunkPlace(BaseModel):
    chunk_id: str
    start: int
    end: int
    page: int | None
    heading: str
    origin: Origin


class PagePlace(BaseModel):
    page: int
    start: int
    end: int


class DocumentTextOut(BaseModel):
    """A document's cleaned text; chunk and citation offsets point into ``text``."""

    id: str
    source: str
    text: str
    chunks: list[ChunkPlace]
    pages: list[PagePlace]


class RefusalOut(BaseModel):
    """Which stage refused and why; ``scores`` holds the figures it compared."""

    stage: Literal["retrieval", "answerability", "grounding"]
    reason: str
    scores: dict[str, Any] = {}


class AskResponse(BaseModel):
    answer: str
    refused: bool
    flagged: bool
    sources: list[SourceOut]
    model: str
    timings: dict[str, float]
    grounding: float | None = None
    query: str = ""
    refusal: RefusalOut | None = None
    checks: dict[str, Any] = {}
    explain: dict[str, Any] | None = None


class IndexStatus(BaseModel):
    index: str
    version: str
    embedding_model: str
    dim: int
    chunking: dict[str, int]
    documents: int
    chunks: int
    built_at: str
    llm: dict[str, str]
    examples: list[str] = Field([], description="questions from its headings (app.examples)")


class DocumentOut(BaseModel):
    source: str
    title: str = Field("", description="first heading or first line; empty: use the file name")
    chunks: int
    indexed_at: str
    size: int
    pages: int | None


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class KBCreate(Body):
    model_config = ConfigDict(extra="forbid")
    # The rule is documented in the schema but checked by the library (a 400 that says
    # it), as it is for the CLI and for names in paths.
    name: str = Field(min_length=1, max_length=64, json_schema_extra={"pattern": KB_NAME})


class KBOut(BaseModel):
    name: str
    docs_dir: str | None
    created_at: str
    indexed: bool
    documents: int
    chunks: int
    built_at: str
    version: str
    loaded: bool


class KBsResponse(BaseModel):
    kbs: list[KBOut]
    admin: bool  # whether the changing endpoints are on (an admin token is configured)
    default: str


# OpenAI-compatible chat completions: only the fields notesqa reads; others are accepted.
class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(
                str(part.get("text", "")) for part in self.content if part.get("type") == "text"
            )
        return self.content or ""


class ChatRequest(Body):
    # Other OpenAI options are accepted and have no effect (the knowledge base's settings
    # decide how it answers: max_tokens, temperature, stop, seed...); the ones whose
    # answer would be something notesqa never gives are refused instead of ignored.
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = Field(False, strict=True)  # "yes" is no boolean
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    n: int = 1
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    response_format: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _answers_notesqa_can_give(self) -> ChatRequest:
        if self.n != 1:
            raise ValueError("n: notesqa gives one answer per question (n must be 1)")
        if self.tools or self.functions:
            raise ValueError("tools: notesqa answers from the knowledge base and calls no tools")
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            raise ValueError("response_format: notesqa answers in text only")
        return self


# Conversations kept on the server (app.chat_store).
class ConversationOut(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


class ConversationsResponse(BaseModel):
    kb: str
    conversations: list[ConversationOut]


class ConversationCreate(Body):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=2000, description="the first question will do")


class ConversationRename(Body):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=2000)


class FeedbackOut(BaseModel):
    rating: Literal["up", "down"]
    comment: str
    at: str | None


class StoredTurnOut(BaseModel):
    id: str
    question: str
    reply: dict[str, Any]
    created_at: str
    feedback: FeedbackOut | None = None


class ConversationDetail(BaseModel):
    kb: str
    conversation: ConversationOut
    turns: list[StoredTurnOut]


class TurnCreate(Body):
    """A finished question and the ask reply it got (``done`` of the stream, or the JSON
    reply), kept as the page shows it; its size is bounded by ``limits.max_body_kb``."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    reply: dict[str, Any]


class FeedbackIn(Body):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down"] | None = Field(description="null clears the feedback")
    comment: str = Field("", max_length=4000)
