"""Which asyncpg errors mean that the database cannot serve now, and which that a change
conflicts with what is stored: the database package turns them into the service's own
``DatabaseUnavailable`` (503; ``ConnectionLost`` when the connection is gone) and ``Conflict``
(409)."""

import asyncpg

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
{%- if cookiecutter.connection_strategy == "per_request" %}
    TimeoutError,  # no connection within DB_CONNECT_TIMEOUT, or no answer from the server
{%- else %}
    TimeoutError,  # no connection within DB_POOL_TIMEOUT, or no answer from the server
{%- endif %}
    asyncpg.PostgresConnectionError,  # the connection was lost
    asyncpg.exceptions.OperatorInterventionError,  # statement timeout, shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, out of memory or disk
    asyncpg.exceptions.TransactionRollbackError,  # a deadlock or serialization failure: retry
    asyncpg.InternalClientError,  # the server ended the session in a way asyncpg did not follow
)
# The connection is gone, or given up on after no answer came in time: a COMMIT that fails so
# may have been saved all the same{% if cookiecutter.connection_strategy != "per_request" %}, and the pool's other connections are likely gone too (a
# server restart) or stuck (a server that stopped answering){% endif %}.
CONNECTION_LOST: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.InternalClientError,
)
# A unique key taken: the one integrity error that is the client's doing whatever the change.
UNIQUE_VIOLATION = asyncpg.UniqueViolationError
