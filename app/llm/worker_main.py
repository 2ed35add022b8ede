"""The model worker: a child process that runs one local generator for the service.

Started by ``app.llm.supervised`` as ``python -m app.llm.worker_main FD``, where FD is
its end of a socket pair. A native crash in llama.cpp or torch (SIGILL, SIGSEGV, an
abort, the OOM killer) then ends this process, not the server.

Frames are JSON objects sent with ``multiprocessing.connection.Connection``:

    parent -> child   {"settings": {...LLMSettings...}}                    first, once
    child -> parent   {"op": "ready", "name", "pid"} | {"op": "failed", "error"}
    parent -> child   {"op": "count", "id", "text"}        -> {"id", "tokens"}
                      {"op": "generate", "id", "messages", "question", "passages",
                       "max_new_tokens"}                   -> {"id", "text"}* then
                                                              {"id", "end": true} | {"id", "error"}
                      {"op": "judge", "id", "messages", "options"}
                                                           -> {"id", "probabilities": [...] | null}
                      {"op": "cancel", "id"}               the generation stops at its next token
    errors            {"type": "<NotesQAError subclass>", "message"}

Counting runs on the reading thread, so it answers while a generation streams; the
generations themselves run one after another on a second thread. When the parent goes
away the socket closes and this process exits.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from ingest.errors import NotesQAError


def encode_error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, NotesQAError):
        return {"type": type(exc).__name__, "message": str(exc)}
    return {"type": "ModelUnavailableError", "message": f"the model failed: {exc!r}"}


class _Serve:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._send_lock = threading.Lock()
        self._jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8")
        with self._send_lock:
            self.conn.send_bytes(data)

    def run(self, generator: Any) -> None:
        worker = threading.Thread(target=self._generate_all, args=(generator,), daemon=True)
        worker.start()
        while True:
            try:
                message = json.loads(self.conn.recv_bytes())
            except (EOFError, OSError):  # the parent is gone
                return
            op, rid = message.get("op"), message.get("id")
            if op == "count":
                try:
                    self.send({"id": rid, "tokens": generator.count_tokens(message["text"])})
                except Exception as exc:
                    self.send({"id": rid, "error": encode_error(exc)})
            elif op in ("generate", "judge"):
                self._jobs.put(message)
            elif op == "cancel":
                with self._lock:
                    self._cancelled.add(rid)
            elif op == "stop":
                return

    def _is_cancelled(self, rid: int) -> bool:
        with self._lock:
            return rid in self._cancelled

    def _generate_all(self, generator: Any) -> None:
        from app.llm.base import GenerationRequest, Message

        while (job := self._jobs.get()) is not None:
            rid = job["id"]
            if self._is_cancelled(rid):
                continue  # the parent no longer listens for this id
            if job["op"] == "judge":
                self._judge(generator, job)
                continue
            request = GenerationRequest(
                messages=[Message(m["role"], m["content"]) for m in job["messages"]],
                question=job.get("question", ""),
                passages=tuple(job.get("passages", ())),
                max_new_tokens=job.get("max_new_tokens"),
            )
            pieces: Iterator[str] = generator.stream(request)
            try:
                for piece in pieces:
                    if self._is_cancelled(rid):
                        break
                    self.send({"id": rid, "text": piece})
                else:
                    self.send({"id": rid, "end": True})
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone mid-answer
            except Exception as exc:
                self.send({"id": rid, "error": encode_error(exc)})
            finally:
                close = getattr(pieces, "close", None)  # a backend's generator: stop it now
                if close is not None:
                    close()
                with self._lock:
                    self._cancelled.discard(rid)

    def _judge(self, generator: Any, job: dict[str, Any]) -> None:
        from app.llm.base import GenerationRequest, Message

        rid = job["id"]
        request = GenerationRequest([Message(m["role"], m["content"]) for m in job["messages"]])
        try:
            probabilities = generator.judge(request, job["options"])
            self.send({"id": rid, "probabilities": probabilities})
        except (EOFError, OSError):
            os._exit(0)
        except Exception as exc:
            self.send({"id": rid, "error": encode_error(exc)})
        finally:
            with self._lock:
                self._cancelled.discard(rid)


def main(argv: list[str]) -> int:
    from app.llm import make_local_generator
    from app.settings import LLMSettings

    # Ctrl-C in a terminal reaches the whole process group; the parent decides what
    # stops, and when it goes away the socket closes and this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(argv[1]))
    try:
        settings = LLMSettings.model_validate(json.loads(conn.recv_bytes())["settings"])
    except (EOFError, OSError):
        return 0
    serve = _Serve(conn)
    try:
        try:
            generator = make_local_generator(settings)
        except Exception as exc:
            serve.send({"op": "failed", "error": encode_error(exc)})
            return 1
        serve.send({"op": "ready", "name": generator.name, "pid": os.getpid()})
    except (EOFError, OSError):
        # The parent went away while the model loaded (a CLI call that finished first,
        # a server stopped during start-up): nothing to report to, nothing to print.
        return 0
    serve.run(generator)
    return 0


if __name__ == "__main__":
    # os._exit: skip interpreter teardown, where llama.cpp's and torch's native
    # destructors have crashed before; the parent has what it needs.
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
