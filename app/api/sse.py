"""Server-sent events: the framing shared by the native and the OpenAI-compatible API."""

from __future__ import annotations

import json
from typing import Any


def event(data: Any, *, name: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
