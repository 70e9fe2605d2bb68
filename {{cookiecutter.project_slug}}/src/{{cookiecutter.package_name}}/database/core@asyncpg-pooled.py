{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The asyncpg connection pool to PgBouncer in transaction mode: opened and closed by the
lifespan, lent for one statement or transaction at a time. PgBouncer sets the statement timeout
on its server connections (connect_query in pgbouncer.ini)."""
{%- else -%}
"""The asyncpg connection pool: opened and closed by the lifespan, lent for one statement or
transaction at a time."""
{%- endif %}

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg

from ..settings import Settings
from .connections import TransactionBlock, service_error, tidy_up
from .driver_errors import UNAVAILABLE
from .errors import ConnectionLost, DatabaseUnavailable
from .options import pool_options
from .pool_budget import SERVER_CONNECTIONS_QUERY, ServerConnections, log_pool_budget
from .pool_stats import PoolStats, PoolWait
from .urls import hide_password

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # asyncpg's classes are generic in its stubs only
    Connection = asyncpg.pool.PoolConnectionProxy[asyncpg.Record]
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Connection, Pool = asyncpg.pool.PoolConnectionProxy, asyncpg.Pool


class Database:
    """The pool, with the request-sized operations the app needs."""

    def __init__(self, pool: Pool, settings: Settings) -> None:
        self._pool = pool
        self._acquire_timeout = settings.db_pool_timeout
        self._answered_at = -math.inf  # when a loan last ended with the database's answer
        self.pool_wait = PoolWait()  # how long each loan waited, for the metrics

    def connection(self, *, writes: bool = False) -> "Loan":
        """A connection from the pool, given back on every path."""
        return Loan(self, writes)

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return self.connection(writes=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction that commits when the block succeeds."""
        async with self.connection() as connection, TransactionBlock(connection):
            yield connection

    async def ping(self) -> None:
        async with self.connection() as connection:
            await connection.fetchval("SELECT 1")

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        async with self.connection() as connection:
            row = await connection.fetchrow(query)
        assert row is not None
        return tuple(row)

    def busy_and_answering(self, since: float) -> bool:
        """Every connection is lent out, and one came back with the database's answer after
        `since` (a time.monotonic()): the requests waiting for a connection are getting one."""
        return (
            self._pool.get_idle_size() == 0
            and self._pool.get_size() == self._pool.get_max_size()
            and self._answered_at > since
        )

    async def server_connections(self) -> ServerConnections:
        async with self.connection() as connection:
            row = await connection.fetchrow(SERVER_CONNECTIONS_QUERY)
        assert row is not None
        return ServerConnections(*row)

    def stats(self) -> PoolStats:
        size, idle = self._pool.get_size(), self._pool.get_idle_size()
        return PoolStats(
            size=size,
            idle=idle,
            in_use=size - idle,
            min_size=self._pool.get_min_size(),
            max_size=self._pool.get_max_size(),
        )


class Loan:
    """``async with database.connection() as connection``: a connection taken from the pool
    within DB_POOL_TIMEOUT, an error in the block turned into the service's own
    (``service_error``), and the connection given back on every path. A class rather than a
    generator-based context manager: it wraps every statement, and a generator costs several
    calls more each time."""

    __slots__ = ("_connection", "_database", "_writes")

    def __init__(self, database: Database, writes: bool) -> None:
        self._database = database
        self._writes = writes

    async def __aenter__(self) -> Connection:
        database = self._database
        started = time.perf_counter()
        # Not acquire(timeout=...): on Python 3.11 that waits in a new task, on every request.
        try:
            async with asyncio.timeout(database._acquire_timeout):
                self._connection = await database._pool.acquire()
        except UNAVAILABLE as error:  # no connection in time, or none could be opened
            raise DatabaseUnavailable from error
        database.pool_wait.observe(time.perf_counter() - started)
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        database, connection = self._database, self._connection
        try:
            if error is None:
                database._answered_at = time.monotonic()
                return
            ours = service_error(connection, error, self._writes)
            if isinstance(ours or error, ConnectionLost):
                # asyncpg does not test idle connections before lending them: after a server
                # restart each would fail once, and on a server that stopped answering each
                # would wait for its own timeout. Expire them all so that the pool connects anew.
                await database._pool.expire_connections()
            if ours is not None:
                raise ours from error
        finally:
            await tidy_up(database._pool.release(connection), "giving the connection back")


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the pool (its minimum of connections at once), and close it gracefully at the end."""
    logger.info(
        "opening asyncpg pool (%d..%d connections) to {% if cookiecutter.connection_strategy == "pgbouncer" %}PgBouncer at {% endif %}%s",
        settings.db_pool_min_size,
        settings.db_pool_max_size,
        hide_password(settings.database_url.get_secret_value()),
    )
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), **pool_options(settings)
    )
    try:
        database = Database(pool, settings)
        await log_pool_budget(database.server_connections, settings)
        yield database
    finally:
        logger.info("closing asyncpg pool")
        await pool.close()
