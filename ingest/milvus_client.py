"""The process's Milvus clients: one per server (or Milvus Lite file), connected on first
use, and Milvus's and gRPC's exceptions as the domain error.

Apart from the store (``milvus_store``), which holds what a collection is: a client is
per process, not per store (every index on one server shares it), and the tests and
``bench/scale.py`` close one without a store, as a Milvus Lite file serves one process
at a time and its embedded server must be released before another process opens it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ingest.errors import StoreUnavailableError
from ingest.vector_store import MilvusOptions

_clients: dict[tuple[str, str | None], Any] = {}
_clients_lock = threading.Lock()
# Collections found intact, by (uri, name): versions never change, so once is enough.
verified: set[tuple[str, str]] = set()


def is_lite(uri: str) -> bool:
    return uri.endswith(".db") and "://" not in uri


def public_uri(uri: str) -> str:
    """``uri`` without a user name or password in it: what a manifest may record."""
    if "@" not in uri or "://" not in uri:
        return uri
    parts = urlsplit(uri)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def client_for(options: MilvusOptions) -> Any:
    """The process's one client for a Milvus (Lite file or server), connected on first use."""
    key = (options.uri, options.token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _connect(options)
        return client


def close_client(uri: str) -> None:
    """Close the clients of ``uri``; for a Milvus Lite file also its embedded server in
    this process, so another process may open the file."""
    with _clients_lock:
        for key in [k for k in _clients if k[0] == uri]:
            with suppress(Exception):
                _clients.pop(key).close()
        verified.difference_update({v for v in verified if v[0] == uri})
        if is_lite(uri):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(uri)


def _connect(options: MilvusOptions) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreUnavailableError(
            "store.backend is milvus but pymilvus is not installed: "
            "pip install 'notesqa[milvus]' (make install does)"
        ) from exc
    if is_lite(options.uri):
        Path(options.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=options.uri, token=options.token or "")
    except Exception as exc:  # pymilvus raises its own exceptions and gRPC's
        if is_lite(options.uri):
            raise StoreUnavailableError(
                f"cannot open the Milvus Lite file {options.uri}: it serves one process at a "
                "time and another one has it open (a running `notesqa serve`?); rebuild from "
                "the API (POST /api/kbs/{kb}/rebuild) or stop that process, or run a Milvus "
                "server (store.milvus_uri: http://host:19530)"
            ) from exc
        raise StoreUnavailableError(f"cannot reach Milvus at {options.uri}: {why(exc)}") from exc


@contextmanager
def errors(uri: str) -> Iterator[None]:
    """Milvus's and gRPC's exceptions as the domain error (HTTP 503, one CLI line)."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in {"pymilvus", "grpc", "milvus_lite"}:
            raise
        raise StoreUnavailableError(f"Milvus at {uri}: {why(exc)}") from exc


def why(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)[:200]
