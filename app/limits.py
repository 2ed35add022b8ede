"""Bounds on what one question may cost, shared by both APIs and the CLI.

A question's history is bounded in turns, in characters per turn and in total before
anything runs (a 200,000-character earlier message once kept the server busy for 7.5
minutes), and only the start of the previous question ever reaches retrieval
(``app.conversation``). The rate limit is a token bucket per API key.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Sequence

from app.llm.base import Message
from app.settings import LimitSettings
from ingest.errors import InputError, InvalidTextError, RateLimitedError, TooLargeError


def check_history(history: Sequence[Message], limits: LimitSettings) -> None:
    """TooLargeError when the history is over any of its bounds; InvalidTextError when it
    holds text that cannot be encoded (a lone surrogate)."""
    if len(history) > limits.max_history_messages:
        raise TooLargeError(
            f"the history has {len(history)} messages; at most "
            f"{limits.max_history_messages} are accepted"
        )
    total = 0
    for i, message in enumerate(history):
        size = len(message.content)
        if size > limits.max_message_chars:
            raise TooLargeError(
                f"history message {i + 1} has {size} characters; at most "
                f"{limits.max_message_chars} are accepted"
            )
        total += size
        check_text(message.content, what=f"history message {i + 1}")
    if total > limits.max_history_chars:
        raise TooLargeError(
            f"the history has {total} characters; at most {limits.max_history_chars} are accepted"
        )


def is_unicode(text: str) -> bool:
    """Whether ``text`` is valid Unicode (JSON allows lone surrogates, which no encoder
    takes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(text: str, *, what: str) -> None:
    """InvalidTextError for text that is not valid Unicode."""
    if not is_unicode(text):
        raise InvalidTextError(f"{what} holds characters that are not valid Unicode")


def check_question(question: str) -> None:
    """InputError for a question with nothing to search for: empty, or no letter or digit
    in any script ("?", "...", a zero-width space), which the embedding still places near
    some passage (a relevance of 0.88 for "?") and retrieval would answer."""
    if not question.strip():
        raise InputError("the question is empty")
    check_text(question, what="the question")
    if not any(ch.isalnum() for ch in question):
        raise InputError("the question has no words, only punctuation, symbols or spaces")


class RateLimiter:
    """Token buckets: ``per_minute`` questions a minute, up to ``burst`` at once, per
    client (an API key, kept only as a hash, or an address)."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    @staticmethod
    def client(authorization: str, address: str) -> str:
        if authorization:
            return "key:" + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()
        return "addr:" + address

    def take(self, client: str) -> None:
        """Spend one token, or RateLimitedError with the seconds until the next one."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                wait = math.ceil((1.0 - tokens) / self.rate)
                self._buckets[client] = (tokens, now)
                raise RateLimitedError(
                    f"too many questions: the limit is {self.rate * 60:g} a minute; "
                    f"try again in {wait} s",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
