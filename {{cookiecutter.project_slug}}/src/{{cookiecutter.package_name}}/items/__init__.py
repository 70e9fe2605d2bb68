"""Items: the HTTP API (``router``), what it accepts and answers, the queries, and what the
endpoints ask for. Everything about items is here; nothing outside imports it but the app."""

from .router import router

__all__ = ["router"]
