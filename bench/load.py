"""A bounded loopback load test of the HTTP API.

Starts `notesqa serve` on a free loopback port over the built index (``notesqa build``)
and runs, one after another: ``--clients`` concurrent clients (16) for ``--seconds``
(60) on ``/api/search``, then on ``/api/ask`` with the extractive generator (no LLM:
the server's own overhead, queue and checks); with ``--real``, ``/api/ask`` with the
configured model, with as many clients as the generation queue holds plus one running
(``server.queue_size`` + 1), for ``--real-seconds``. Prints requests/s, latency
p50/p95/p99, errors and 503s (the queue's "busy") for each.

    .venv/bin/python bench/load.py [--config FILE] [--clients N] [--seconds S]
                                   [--real] [--real-seconds S] [--json]
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed

QUESTIONS = [
    "外挂知识库的具体流程是什么？",
    "LoRA 的秩该怎么理解？",
    "SuperCLUE琅琊榜采用了什么评级系统？",
    "What is P-Tuning?",
    "FlashAttention 是如何减少显存读写的？",  # refused
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(config: Path | None, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    if config:
        command += ["--config", str(config)]
    process = subprocess.Popen(
        command,
        cwd=_common.HERE.parent,
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server was not ready in 600 s")


async def _load(url: str, path: str, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    stop = time.monotonic() + seconds

    async def client(i: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=600) as http:
            n = i
            while time.monotonic() < stop:
                question = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                body = {"query": question} if path == "/api/search" else {"question": question}
                t0 = time.perf_counter()
                try:
                    reply = await http.post(url + path, json=body)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
                if reply.status_code == 503:
                    await asyncio.sleep(0.5)  # a polite client backs off when busy

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    took = time.perf_counter() - started
    qs = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return {
        "path": path,
        "clients": clients,
        "seconds": round(took, 1),
        "requests": len(latencies),
        "per_second": round(statuses.get(200, 0) / took, 2),
        "p50_ms": round(qs[49] * 1000, 1),
        "p95_ms": round(qs[94] * 1000, 1),
        "p99_ms": round(qs[98] * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "busy_503": statuses.get(503, 0),
    }


def main() -> None:
    parser = _common.parser(__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--real", action="store_true", help="also /api/ask with the real model")
    parser.add_argument("--real-seconds", type=float, default=300)
    args = parser.parse_args()
    from app.settings import load_settings

    settings = load_settings(args.config)
    results = []
    process, url = _serve(args.config, {"NOTESQA_LLM__BACKEND": "extractive"})
    try:
        for path in ("/api/search", "/api/ask"):
            results.append(asyncio.run(_load(url, path, args.clients, args.seconds)))
    finally:
        process.terminate()
        process.wait(30)
    if args.real:
        process, url = _serve(args.config, {})
        try:
            clients = settings.server.queue_size + 1
            real = asyncio.run(_load(url, "/api/ask", clients, args.real_seconds))
            results.append(real | {"model": settings.llm.backend})
        finally:
            process.terminate()
            process.wait(30)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        model = r.get("model", "extractive") if r["path"] == "/api/ask" else ""
        label = f"{r['path']} ({model})" if model else r["path"]
        print(
            f"{label}: {r['clients']} clients, {r['seconds']} s: {r['requests']} requests, "
            f"{r['per_second']} answered/s; p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
            f"p99 {r['p99_ms']} ms; statuses {r['statuses']}, errors {r['errors']}, "
            f"503 {r['busy_503']}"
        )


if __name__ == "__main__":
    main()
