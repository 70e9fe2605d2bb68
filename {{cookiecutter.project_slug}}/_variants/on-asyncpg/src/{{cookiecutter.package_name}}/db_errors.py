"""Which asyncpg errors mean the database cannot serve now (503), and which are conflicts (409)."""

import asyncpg

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # no connection within DB_POOL_TIMEOUT, or the server stopped answering
    asyncpg.PostgresConnectionError,  # the connection was lost
    asyncpg.exceptions.OperatorInterventionError,  # statement timeout, shutdown, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, out of memory or disk
)
CONFLICTS: tuple[type[Exception], ...] = (asyncpg.IntegrityConstraintViolationError,)
# After these, the pool's other idle connections are likely dead too (a server restart).
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError)
