{%- set sqlalchemy = cookiecutter.db_driver == "sqlalchemy_async" -%}
{%- if sqlalchemy -%}
"""How the app's asyncpg connections are set up, by SQLAlchemy's asyncpg dialect."""
{%- else -%}
"""How the app's asyncpg connections are set up: by asyncpg itself, or by databases on it."""
{%- endif %}

from typing import Any
{%- if sqlalchemy and cookiecutter.connection_strategy == "pgbouncer" %}
from uuid import uuid4
{%- endif %}

from ..settings import Settings


def connect_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for asyncpg's connections{% if sqlalchemy %} (the engine's connect_args){% elif cookiecutter.connection_strategy != "per_request" %}, by connect() or create_pool(){% endif %}."""
    return {
        "timeout": settings.db_connect_timeout,
        # The server cancels a statement at DB_STATEMENT_TIMEOUT; the client gives up on any
        # statement (BEGIN and COMMIT included) a little later, should the server itself stop
        # answering.
        "command_timeout": settings.db_client_timeout,
{%- if cookiecutter.connection_strategy == "pgbouncer" and sqlalchemy %}
        # PgBouncer in transaction mode may run each statement on another server connection:
        # no statement is kept prepared, neither by asyncpg nor by SQLAlchemy, and each one is
        # prepared under a name of its own, never one that another client connection used on
        # the same server connection (SQLAlchemy's asyncpg dialect documents the three).
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4().hex}__",
{%- elif cookiecutter.connection_strategy == "pgbouncer" %}
        # PgBouncer in transaction mode may run each statement on another server connection:
        # before 1.21 it has no prepared statements to pass on (DB_STATEMENT_CACHE_SIZE).
        "statement_cache_size": settings.db_statement_cache_size,
{%- endif %}
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
        # PgBouncer accepts no startup parameter but a few like this one; it sets the statement
        # timeout on its server connections itself (connect_query in pgbouncer.ini).
        "server_settings": {"application_name": "{{ cookiecutter.project_slug }}"},
{%- else %}
        "server_settings": {
            "statement_timeout": str(round(settings.db_statement_timeout * 1000)),
            "application_name": "{{ cookiecutter.project_slug }}",
        },
{%- endif %}
    }
{%- if cookiecutter.connection_strategy != "per_request" and not sqlalchemy %}


def pool_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for asyncpg's create_pool(): the connect options and the pool's size."""
    return {
        **connect_options(settings),
        "min_size": settings.db_pool_min_size,
        "max_size": settings.db_pool_max_size,
        # asyncpg does not test a connection before lending it; one left idle this long is
        # closed, before a firewall or the server's idle timeout drops it (asyncpg's default).
        "max_inactive_connection_lifetime": 300.0,
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
        # Behind PgBouncer no session is ours to reset when a connection goes back to the pool:
        # asyncpg's RESET ALL (and more) would cost a round trip and reach whichever server
        # connection PgBouncer had at hand.
        "reset": keep_as_is,
{%- endif %}
    }
{%- endif %}
{%- if cookiecutter.connection_strategy == "pgbouncer" and not sqlalchemy %}


async def keep_as_is(connection: object) -> None:
    """What the pool does to a connection given back to it: nothing."""
{%- endif %}
