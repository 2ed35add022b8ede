"""One model worker process seen from the server: spawn, handshake, replies by request id.

The process runs ``app.llm.worker_main``; the frames are described there. A reader thread
routes each reply to the request that waits for it; when the process ends, every
waiting request gets ``GeneratorCrashedError`` with the reason (``app.llm.crash``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from app.llm.crash import describe_exit
from app.settings import LLMSettings
from ingest import errors


class WorkerProcess:
    """One child process and the thread that reads its replies."""

    def __init__(self, settings: LLMSettings) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.llm.worker_main", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.pid = self.proc.pid
        self.name = ""
        self._send_lock = threading.Lock()
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self.exit_reason = ""
        self.exited = threading.Event()
        # If it died at once, the handshake reads the end and says how.
        with contextlib.suppress(OSError):
            self.send({"settings": settings.model_dump(mode="json")})

    def handshake(self, timeout: float) -> None:
        """Wait for the model to load; raise with the child's reason when it cannot."""
        if not self.conn.poll(timeout):
            self.kill()
            raise errors.ModelUnavailableError(
                f"the model worker did not load the model within {timeout:g} s"
            )
        try:
            first = json.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise errors.GeneratorCrashedError(self._died()) from None
        if first.get("op") == "failed":
            self.proc.wait()
            raise decode_error(first["error"])
        self.name = str(first.get("name", ""))
        threading.Thread(target=self._read, name=f"model-worker-{self.pid}", daemon=True).start()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8")
        with self._send_lock:
            self.conn.send_bytes(data)

    def open(self) -> tuple[int, queue.Queue[dict[str, Any]]]:
        replies: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            if self.exited.is_set():
                raise errors.GeneratorCrashedError(self.exit_reason)
            self._next_id += 1
            self._pending[self._next_id] = replies
            return self._next_id, replies

    def forget(self, rid: int) -> None:
        with self._lock:
            self._pending.pop(rid, None)

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                break
            with self._lock:
                replies = self._pending.get(message.get("id"))
            if replies is not None:
                replies.put(message)
        reason = self._died()
        with self._lock:
            self.exit_reason = reason
            self.exited.set()
            pending, self._pending = self._pending, {}
        crash = {"type": "GeneratorCrashedError", "message": reason}
        for replies in pending.values():
            replies.put({"error": crash})

    def _died(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        return describe_exit(code, pid=self.pid)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.conn.close()


def decode_error(data: dict[str, str]) -> errors.NotesQAError:
    cls = getattr(errors, data.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.NotesQAError)):
        cls = errors.ModelUnavailableError
    return cls(data.get("message", "the model worker failed"))
