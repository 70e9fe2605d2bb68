"""Which SQLAlchemy errors mean the database cannot serve now (503), and which are conflicts
(409)."""

from sqlalchemy import exc

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow. psycopg
# reports a lost connection, a refused one, a statement timeout and a server shutdown alike as
# OperationalError.
{%- if cookiecutter.connection_strategy == "per_request" %}
UNAVAILABLE: tuple[type[Exception], ...] = (exc.OperationalError,)
{%- else %}
UNAVAILABLE: tuple[type[Exception], ...] = (
    TimeoutError,  # no connection free within DB_POOL_TIMEOUT
    exc.TimeoutError,  # the pool itself gave up waiting
    exc.OperationalError,
)
{%- endif %}
CONFLICTS: tuple[type[Exception], ...] = (exc.IntegrityError,)
