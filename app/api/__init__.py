"""The HTTP app: ``create_app(settings)`` wires routes, error handlers and the web page."""

from app.api.main import create_app

__all__ = ["create_app"]
