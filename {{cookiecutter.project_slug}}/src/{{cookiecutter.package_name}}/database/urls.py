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
{%- if cookiecutter.db_driver in ["asyncpg", "databases", "sqlalchemy_async"] %}
    """The same URL with another scheme, such as the ``dialect+driver`` form SQLAlchemy wants.

    SQLAlchemy's asyncpg dialect hands the URL's query to ``asyncpg.connect()`` as keyword
    arguments, where libpq's ``sslmode`` (as cloud providers write their URLs) is called ``ssl``
    and takes the same values: it is renamed for it."""
    parts = urlsplit(url)._replace(scheme=scheme)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if scheme.endswith("+asyncpg") and any(key == "sslmode" for key, _ in query):
        renamed = [("ssl" if key == "sslmode" else key, value) for key, value in query]
        parts = parts._replace(query=urlencode(renamed, safe="/"))
    return urlunsplit(parts)
{%- else %}
    """The same URL with another scheme, such as the ``dialect+driver`` form SQLAlchemy wants."""
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))
{%- endif %}
