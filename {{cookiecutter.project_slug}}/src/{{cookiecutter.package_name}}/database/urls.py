"""Helpers for PostgreSQL connection URLs."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"


def hide_password(url: str) -> str:
    """The URL with any password (in the userinfo or the query) replaced, safe to log."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if at and colon:
        parts = parts._replace(netloc=f"{user}:{MASK}@{hostport}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "password" for key, _ in query):
        masked = [(key, MASK if key == "password" else value) for key, value in query]
        parts = parts._replace(query=urlencode(masked, safe="/*"))
    return urlunsplit(parts)


def with_scheme(url: str, scheme: str) -> str:
    """The same URL with another scheme, such as the ``dialect+driver`` form SQLAlchemy wants."""
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))
