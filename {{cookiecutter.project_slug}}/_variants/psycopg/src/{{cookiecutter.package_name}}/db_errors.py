"""Which psycopg errors mean the database cannot serve now (503), and which are conflicts (409)."""

import psycopg
from psycopg_pool import PoolTimeout

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
    PoolTimeout,  # no connection within DB_POOL_TIMEOUT, the database down included
    psycopg.OperationalError,  # connection lost, statement timeout, shutdown, too many clients
)
CONFLICTS: tuple[type[Exception], ...] = (psycopg.IntegrityError,)
