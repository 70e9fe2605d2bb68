{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The psycopg connection pool to PgBouncer in transaction mode: opened and closed by the
lifespan, lent for one statement or transaction at a time. PgBouncer sets the statement timeout
on its server connections (connect_query in pgbouncer.ini)."""
{%- else -%}
"""The psycopg connection pool: opened and closed by the lifespan, lent for one statement or
transaction at a time."""
{%- endif %}

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from ..settings import Settings
from .connections import FailuresHandled, transaction
from .driver_errors import UNAVAILABLE
from .errors import DatabaseUnavailable
from .pool_budget import SERVER_CONNECTIONS_QUERY, ServerConnections, log_pool_budget
from .pool_stats import PoolStats, PoolWait
from .urls import hide_password

logger = logging.getLogger(__name__)

# psycopg_pool logs every checkout and return at INFO; its warnings (failed connects) are enough.
logging.getLogger("psycopg.pool").setLevel(logging.WARNING)

Connection = psycopg.AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[Connection]


class Database:
    """The pool, with the request-sized operations the app needs."""

    def __init__(self, pool: Pool, settings: Settings) -> None:
        self._pool = pool
        self._client_timeout = settings.db_client_timeout
        self._answered_at = -math.inf  # when a loan last ended with the database's answer
        self.pool_wait = PoolWait()  # how long each loan waited, for the metrics

    def connection(self, *, writes: bool = False) -> "Loan":
        """A connection from the pool (autocommit), given back on every path."""
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
        async with self.connection() as connection, transaction(connection):
            yield connection

    async def ping(self) -> None:
        async with self.connection() as connection:
            await connection.execute("SELECT 1")

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        async with self.connection() as connection:
            row = await (await connection.execute(query)).fetchone()
        assert row is not None
        return tuple(row)

    def busy_and_answering(self, since: float) -> bool:
        """Every connection is lent out, and one came back with the database's answer after
        `since` (a time.monotonic()): the requests waiting for a connection are getting one."""
        stats = self._pool.get_stats()
        return (
            stats["pool_available"] == 0
            and stats["pool_size"] == self._pool.max_size
            and self._answered_at > since
        )

    async def server_connections(self) -> ServerConnections:
        async with self.connection() as connection:
            cursor = await connection.execute(SERVER_CONNECTIONS_QUERY)
            row = await cursor.fetchone()
        assert row is not None
        return ServerConnections(*row)

    def stats(self) -> PoolStats:
        stats = self._pool.get_stats()
        size, idle = stats["pool_size"], stats["pool_available"]
        return PoolStats(
            size=size,
            idle=idle,
            in_use=size - idle,
            waiting=stats["requests_waiting"],
            min_size=stats["pool_min"],
            max_size=stats["pool_max"],
        )


class Loan:
    """``async with database.connection() as connection``: a connection taken from the pool
    within DB_POOL_TIMEOUT, its failures handled (``FailuresHandled``), and given back on every
    path. A class rather than a generator-based context manager: it wraps every statement, and a
    generator costs several calls more each time."""

    __slots__ = ("_connection", "_database", "_failures", "_writes")

    def __init__(self, database: Database, writes: bool) -> None:
        self._database = database
        self._writes = writes

    async def __aenter__(self) -> Connection:
        database = self._database
        started = time.perf_counter()
        try:
            connection = await database._pool.getconn()
        except UNAVAILABLE as error:  # none free within DB_POOL_TIMEOUT, the database down included
            raise DatabaseUnavailable from error
        database.pool_wait.observe(time.perf_counter() - started)
        self._connection = connection
        self._failures = FailuresHandled(
            connection, answer_within=database._client_timeout, writes=self._writes
        )
        self._failures.__enter__()
        return connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        database, connection = self._database, self._connection
        try:
            self._failures.__exit__(exc_type, error, traceback)
            if error is None:
                database._answered_at = time.monotonic()
        finally:
            if connection.broken:
                # The pool does not test idle connections before lending them (a `check` would
                # cost a round trip per request): after a server restart each would fail once,
                # and on a server that stopped answering each would wait for its own timeout.
                # Drain them so that the pool connects anew instead.
                await database._pool.drain()
            await database._pool.putconn(connection)


def create_pool(settings: Settings) -> Pool:
    return AsyncConnectionPool(
        settings.database_url.get_secret_value(),
        connection_class=Connection,
        kwargs={
            # A statement alone needs no transaction: autocommit spares it BEGIN and COMMIT.
            # Several statements that commit together run in one (Database.transaction).
            "autocommit": True,
            "application_name": "{{ cookiecutter.project_slug }}",
            "connect_timeout": math.ceil(settings.db_connect_timeout),
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
            # PgBouncer in transaction mode may run each statement on another server
            # connection: never prepare statements on the server.
            "prepare_threshold": None,
            # PgBouncer refuses the `options` startup parameter; it sets the statement timeout
            # on its server connections itself (connect_query in pgbouncer.ini).
{%- else %}
            "options": f"-c statement_timeout={math.ceil(settings.db_statement_timeout * 1000)}",
{%- endif %}
        },
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout,
        # Retrying a failed connect for longer than a request waits helps no one, and the
        # growing backoff would delay recovery; the next request starts a fresh attempt.
        reconnect_timeout=settings.db_pool_timeout,
        name="{{ cookiecutter.project_slug }}",
        open=False,
    )


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the pool (its minimum of connections at once), and close it gracefully at the end."""
    logger.info(
        "opening psycopg pool (%d..%d connections) to {% if cookiecutter.connection_strategy == "pgbouncer" %}PgBouncer at {% endif %}%s",
        settings.db_pool_min_size,
        settings.db_pool_max_size,
        hide_password(settings.database_url.get_secret_value()),
    )
    pool = create_pool(settings)
    await pool.open(wait=True, timeout=settings.db_connect_timeout + settings.db_pool_timeout)
    try:
        database = Database(pool, settings)
        await log_pool_budget(database.server_connections, settings)
        yield database
    finally:
        logger.info("closing psycopg pool")
        await pool.close()
