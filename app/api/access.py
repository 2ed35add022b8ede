"""Who may talk to the server: the Host it is addressed by, and the API key.

Both are checked before any route runs, by one ASGI middleware:

- **Host.** A web page the user visits can make the browser send requests to
  ``localhost`` under its own domain name (DNS rebinding) and read the replies. Only
  requests naming a configured host are served: ``localhost``, ``127.0.0.1``, ``::1``,
  the bind address (with the machine's own name and addresses when bound to all
  interfaces) and ``server.allowed_hosts`` (``"*"`` turns the check off).
- **API key.** With ``api_key`` / ``api_key_file`` set, every ``/api`` and ``/v1`` route
  needs ``Authorization: Bearer <key>`` (the ``openai`` client's ``api_key`` sends
  exactly that); the admin token counts as a key too. ``server.open_routes`` stay open
  (``/healthz``, ``/readyz``, ``/metrics`` by default). Keys are compared in constant
  time and never logged or echoed.
"""

from __future__ import annotations

import hmac
import socket
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_response
from app.settings import Settings
from ingest.errors import ConfigError

LOOPBACK = ("localhost", "127.0.0.1", "::1")
ALL_INTERFACES = ("0.0.0.0", "::", "")
PROTECTED = ("/api/", "/v1/")


def api_keys(settings: Settings) -> list[bytes]:
    """The configured API keys: ``api_key`` (comma-separated for several) and the lines of
    ``api_key_file`` (blank lines and ``#`` comments ignored)."""
    keys: list[str] = []
    if settings.api_key is not None:
        keys += [k.strip() for k in settings.api_key.get_secret_value().split(",")]
    if settings.api_key_file is not None:
        try:
            text = Path(settings.api_key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read api_key_file {settings.api_key_file}: {exc}") from exc
        keys += [line.strip() for line in text.splitlines() if not line.startswith("#")]
    return [k.encode("utf-8") for k in keys if k]


def allowed_hosts(settings: Settings) -> set[str]:
    hosts = {*LOOPBACK, *(h.lower() for h in settings.server.allowed_hosts)}
    bind = settings.server.host.strip("[]").lower()
    if bind in ALL_INTERFACES:
        hosts |= _own_names()
    else:
        hosts.add(bind)
    return hosts


def _own_names() -> set[str]:
    """This machine's name and addresses: what clients use to reach a server bound to
    every interface."""
    names: set[str] = set()
    try:
        name = socket.gethostname()
        fqdn = socket.getfqdn()
        names |= {name.lower(), fqdn.lower()}
        for info in socket.getaddrinfo(name, None):
            names.add(str(info[4][0]).lower())
    except OSError:
        pass
    return names


def host_of(header: str) -> str:
    """The host name of a Host header, without its port: ``[::1]:8000`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK


class AccessMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.any_host = "*" in settings.server.allowed_hosts
        self.hosts = allowed_hosts(settings)
        self.keys = api_keys(settings)
        if self.keys and settings.admin_token is not None:
            self.keys.append(settings.admin_token.get_secret_value().encode("utf-8"))
        self.open = set(settings.server.open_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_of(headers.get("host", ""))
        if not self.any_host and host not in self.hosts:
            response = error_response(
                "bad_host",
                f"this server does not answer to host {host[:100]!r}; add it to "
                "server.allowed_hosts (NOTESQA_SERVER__ALLOWED_HOSTS) to serve it",
                400,
            )
            await response(scope, receive, send)
            return
        path: str = scope["path"]
        needs_key = self.keys and path.startswith(PROTECTED) and path not in self.open
        if needs_key and not self._authorized(headers.get("authorization", "")):
            response = error_response(
                "unauthorized",
                "this server needs an API key: send Authorization: Bearer <key>",
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        token = given.strip().encode("utf-8", "replace")
        # Every key is compared, so the time taken says nothing about which matched.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(token, key)
        return matched
