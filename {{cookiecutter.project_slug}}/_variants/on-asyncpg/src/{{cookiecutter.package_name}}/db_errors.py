"""Which asyncpg errors mean the database cannot serve now (503), and which are conflicts (409)."""

import asyncpg

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
{%- if cookiecutter.connection_strategy == "per_request" %}
    TimeoutError,  # no connection within DB_CONNECT_TIMEOUT, or the server stopped answering
{%- else %}
    TimeoutError,  # no connection within DB_POOL_TIMEOUT, or the server stopped answering
{%- endif %}
    asyncpg.PostgresConnectionError,  # the connection was lost
    asyncpg.exceptions.OperatorInterventionError,  # statement timeout, shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, out of memory or disk
    asyncpg.exceptions.TransactionRollbackError,  # a deadlock or serialization failure: retry
)
CONFLICTS: tuple[type[Exception], ...] = (asyncpg.IntegrityConstraintViolationError,)
{%- if cookiecutter.connection_strategy != "per_request" %}
# After these, the pool's other idle connections are likely dead too (a server restart).
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError)
{%- endif %}
