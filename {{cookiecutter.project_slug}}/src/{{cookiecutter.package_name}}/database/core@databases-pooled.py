{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The database: encode/databases over an asyncpg pool to PgBouncer in transaction mode,
opened and closed by the lifespan. PgBouncer sets the statement timeout on its server
connections (connect_query in pgbouncer.ini).
{%- else -%}
"""The database: encode/databases over an asyncpg pool, opened and closed by the lifespan.
{%- endif %}

databases lends each asyncio task its own connection, and FastAPI serves each request in a task
of its own, so concurrent requests never share one.
"""

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg
import databases
from databases.core import Connection

from ..settings import Settings
from .connections import TransactionBlock, service_error, tidy_up
from .driver_errors import UNAVAILABLE
from .errors import ConnectionLost, DatabaseUnavailable
from .options import pool_options
from .pool_budget import SERVER_CONNECTIONS_QUERY, ServerConnections, log_pool_budget
from .pool_stats import PoolStats, PoolWait
from .urls import hide_password

logger = logging.getLogger(__name__)

# databases logs every query with its values at DEBUG, and the connection URL at INFO.
logging.getLogger("databases").setLevel(logging.WARNING)

if TYPE_CHECKING:  # asyncpg's classes are generic in its stubs only
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Pool = asyncpg.Pool


class Database:
    """A connected ``databases.Database``, with the request-sized operations the app needs."""

    def __init__(self, database: databases.Database, settings: Settings) -> None:
        self._database = database
        self._acquire_timeout = settings.db_pool_timeout
        self._answered_at = -math.inf  # when a loan last ended with the database's answer
        self.pool_wait = PoolWait()  # how long each loan waited, for the metrics

    @property
    def _pool(self) -> Pool:
        # databases keeps asyncpg's pool to itself; its figures and expire_connections() are only
        # there. The attribute is stable: databases has had no release since 0.9.0 (2024).
        pool: Pool = self._database._backend._pool
        return pool

    def connection(self, *, writes: bool = False) -> "Loan":
        """This task's connection, taken from the pool within DB_POOL_TIMEOUT and given back."""
        return Loan(self, writes)

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return self.connection(writes=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """This task's connection inside a transaction that commits when the block succeeds.

        The transaction is asyncpg's, on the same connection: ``databases``' own transaction()
        never gives its connection back to the pool when COMMIT or ROLLBACK fails.
        """
        async with self.connection() as connection, TransactionBlock(connection.raw_connection):
            yield connection

    async def ping(self) -> None:
        async with self.connection() as connection:
            await connection.fetch_val("SELECT 1")

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        async with self.connection() as connection:
            row = await connection.fetch_one(query)
        assert row is not None
        return tuple(row._mapping.values())

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
            row = await connection.raw_connection.fetchrow(SERVER_CONNECTIONS_QUERY)
        assert row is not None
        return ServerConnections(*row)

    def stats(self) -> PoolStats:
        pool = self._pool
        size, idle = pool.get_size(), pool.get_idle_size()
        return PoolStats(
            size=size,
            idle=idle,
            in_use=size - idle,
            min_size=pool.get_min_size(),
            max_size=pool.get_max_size(),
        )


class Loan:
    """``async with database.connection() as connection``: this task's connection, taken from
    the pool within DB_POOL_TIMEOUT, an error in the block turned into the service's own
    (``service_error``), and the connection given back on every path. A class rather than a
    generator-based context manager: it wraps every statement, and a generator costs several
    calls more each time."""

    __slots__ = ("_connection", "_database", "_writes")

    def __init__(self, database: Database, writes: bool) -> None:
        self._database = database
        self._writes = writes

    async def __aenter__(self) -> Connection:
        database = self._database
        connection = self._connection = database._database.connection()
        # Entered and left by hand: databases would wait for a free connection forever, and a
        # failure to give it back must not undo what the request did.
        started = time.perf_counter()
        try:
            async with asyncio.timeout(database._acquire_timeout):
                await connection.__aenter__()
        except UNAVAILABLE as error:  # no connection in time, or none could be opened
            raise DatabaseUnavailable from error
        database.pool_wait.observe(time.perf_counter() - started)
        return connection

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
            ours = service_error(connection.raw_connection, error, self._writes)
            if isinstance(ours or error, ConnectionLost):
                # asyncpg does not test idle connections before lending them: after a server
                # restart each would fail once, and on a server that stopped answering each
                # would wait for its own timeout. Expire them all so that the pool connects anew.
                await database._pool.expire_connections()
            if ours is not None:
                raise ours from error
        finally:
            await tidy_up(connection.__aexit__(), "giving the connection back")


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Connect (the pool's minimum of connections at once), and disconnect gracefully at the end."""
    logger.info(
        "opening databases pool on asyncpg (%d..%d connections) to {% if cookiecutter.connection_strategy == "pgbouncer" %}PgBouncer at {% endif %}%s",
        settings.db_pool_min_size,
        settings.db_pool_max_size,
        hide_password(settings.database_url.get_secret_value()),
    )
    url = settings.database_url.get_secret_value()
    database = databases.Database(
        url,
        # The keyword arguments below go to asyncpg.create_pool. databases reads only the host,
        # port, user, password and database from the URL; given the URL too, asyncpg honours
        # the rest of it (sslmode, options, ...).
        dsn=url,
        **pool_options(settings),
    )
    await database.connect()
    try:
        app_database = Database(database, settings)
        await log_pool_budget(app_database.server_connections, settings)
        yield app_database
    finally:
        logger.info("closing databases pool")
        await database.disconnect()
