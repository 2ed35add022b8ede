"""A real uvicorn server on a free loopback port (in a thread, or as `notesqa serve` in
its own process), and an SSE reader.

Shared by the HTTP tests (``from live import Server``: tests/ is put on sys.path by
tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.api import create_app
from app.api.main import GracefulServer, server_config
from app.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, settings: Settings, generator: Any, *, wait: bool = True) -> None:
        self.wait = wait
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Configured as `notesqa serve` configures it (forwarded headers included).
        served = settings.server.model_copy(update={"host": "127.0.0.1", "port": self.port})
        config = server_config(
            create_app(settings, generator=generator), served, log_level="warning"
        )
        self.app = config.app
        self.server = GracefulServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"{self.url}/readyz").status_code
                if status == 200 or (not self.wait and status == 503):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


ROOT = Path(__file__).resolve().parents[1]


class ServerProcess:
    """`notesqa serve` in a child process, with ``env`` added to a clean environment
    (no NOTESQA_* of the caller's); ``kill()`` sends SIGKILL, as a crash would."""

    def __init__(self, env: dict[str, str], *, config: Path, log: Path, startup: float = 90):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("NOTESQA_")}
        self.env = base | {"HF_HUB_OFFLINE": "1"} | env
        self.config = config
        self.log = log
        self.startup = startup
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--config", str(self.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {self.startup} s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Started for a fixture (a failed start fails the test with the log), its URL."""
        import pytest

        try:
            self.start()
        except RuntimeError as exc:
            pytest.fail(str(exc))
        try:
            yield self.url
        finally:
            self.stop()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (``GET /metrics``)."""
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        got = head[len(name) :]
        if got.startswith("{"):
            pairs = dict(p.split("=", 1) for p in got.strip("{}").split(",") if p)
            found = {k: v.strip('"') for k, v in pairs.items()}
        else:
            found = {}
        if got and not got.startswith("{"):
            continue  # another metric whose name starts the same
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    raise AssertionError(f"no {name} {labels} in the metrics")


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        name, data = "message", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events
