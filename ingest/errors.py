"""The one error hierarchy of notesqa.

    NotesQAError                 anything the user can act on; never a bare traceback
    ├── ConfigError              a setting or config file is wrong
    ├── InputError               bad user input (empty question, bad path, bad set file)
    │   ├── AlreadyExistsError     a knowledge base of that name exists
    │   ├── InvalidTextError       text that is not valid Unicode (a lone surrogate)
    │   ├── TooLargeError          an upload or request over its size limit
    │   └── UnsupportedFileError   an upload whose type is not allowed or whose content
    │                              is not what its suffix says
    ├── NotFoundError            no such knowledge base, document or model
    ├── AuthError                a changing endpoint without the right admin token
    │   └── ForbiddenError         changing endpoints are off (no admin token configured)
    ├── DocumentError            one document could not be read (the build goes on)
    ├── IndexNotFoundError       no index has been built yet
    │   └── IndexDamagedError      every version on disk is damaged
    ├── IndexMismatchError       the index was built with another model or format
    ├── BuildInProgressError     another build holds the index lock
    ├── ModelUnavailableError    a model file or an optional dependency is missing, or
    │   │                        the model worker is not running
    │   └── GeneratorCrashedError  the model worker died in the middle of this request
    ├── UpstreamError            the OpenAI-compatible upstream failed or timed out
    ├── StoreUnavailableError    the vector store (Milvus) cannot be reached or opened
    ├── ChatsUnavailableError    conversations cannot be kept on the server (turned off,
    │                            or its folder is read-only): the page keeps them
    ├── BusyError                the generation queue is full
    │   └── RateLimitedError       this key asked more often than its rate allows
    ├── TimeLimitError           an answer ran past its wall-clock limit
    └── ShuttingDownError        the server stops: answers in flight end

The HTTP layer maps each class to a status code once (``app.api.errors``); the CLI
prints ``error: <message>`` and exits non-zero (``app.cli``).
"""

from __future__ import annotations


class NotesQAError(Exception):
    """Base class: the message is meant for the user.

    ``retry_after`` (seconds) is set where trying again later can succeed; the API sends
    it as the ``Retry-After`` header.
    """

    code = "notesqa_error"
    retry_after: int | None = None


class ConfigError(NotesQAError):
    code = "config_error"


class InputError(NotesQAError):
    code = "invalid_input"


class InvalidTextError(InputError):
    code = "invalid_text"


class AlreadyExistsError(InputError):
    code = "already_exists"


class TooLargeError(InputError):
    code = "too_large"


class UnsupportedFileError(InputError):
    code = "unsupported_file"


class NotFoundError(NotesQAError):
    code = "not_found"


class AuthError(NotesQAError):
    code = "unauthorized"


class ForbiddenError(AuthError):
    code = "forbidden"


class DocumentError(NotesQAError):
    code = "document_error"


class IndexNotFoundError(NotesQAError):
    code = "index_not_found"


class IndexDamagedError(IndexNotFoundError):
    code = "index_damaged"


class IndexMismatchError(NotesQAError):
    code = "index_mismatch"


class BuildInProgressError(NotesQAError):
    code = "build_in_progress"


class ModelUnavailableError(NotesQAError):
    code = "model_unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GeneratorCrashedError(ModelUnavailableError):
    code = "generator_crashed"


class UpstreamError(NotesQAError):
    code = "upstream_error"


class StoreUnavailableError(NotesQAError):
    code = "store_unavailable"
    retry_after = 10


class ChatsUnavailableError(NotesQAError):
    code = "conversations_unavailable"


class BusyError(NotesQAError):
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(BusyError):
    code = "rate_limited"


class TimeLimitError(NotesQAError):
    code = "time_limit"


class ShuttingDownError(NotesQAError):
    code = "shutting_down"
