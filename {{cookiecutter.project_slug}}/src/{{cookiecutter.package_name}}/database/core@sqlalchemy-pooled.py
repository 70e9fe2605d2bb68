{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The SQLAlchemy engine and its pool of connections to PgBouncer in transaction mode: opened and
closed by the lifespan, lent to one request at a time as an ORM session. PgBouncer sets the
statement timeout on its server connections (connect_query in pgbouncer.ini)."""
{%- else -%}
"""The SQLAlchemy engine and its connection pool: opened and closed by the lifespan, lent to one
request at a time as an ORM session."""
{%- endif %}

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from typing import Any, ParamSpec, TypeVar

import anyio
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import QueuePool

from ..settings import Settings
from .connections import Sessions, Watchdog
from .errors import DatabaseUnavailable
from .pool_budget import SERVER_CONNECTIONS_QUERY, ServerConnections, log_pool_budget
from .pool_stats import PoolStats, PoolWait
from .urls import hide_password, with_scheme

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Seconds after which a pooled connection is replaced, before a firewall or proxy drops it.
RECYCLE_SECONDS = 1800


class Database(Sessions):
    """The engine, with the request-sized operations the app needs (Sessions).

    Sessions do blocking I/O, so they run in worker threads. A request first waits, in the event
    loop, for one of the pool's connections to be free, and only then takes a thread: threads
    blocked on an empty pool could otherwise fill AnyIO's thread limiter and starve the requests
    that hold the connections (fastapi#3205).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(engine)
        self._engine = engine
        self._free_connections = anyio.Semaphore(settings.db_pool_max_size)
        self._wait_timeout = settings.db_pool_timeout
        self._answered_at = -math.inf  # when a loan last ended with the database's answer
        self.pool_wait = PoolWait()  # how long each loan waited, for the metrics
        self._min_size = settings.db_pool_min_size

    @asynccontextmanager
    async def reserved_connection(self) -> AsyncIterator[None]:
        """Wait at most DB_POOL_TIMEOUT for a free connection, and keep it for the block."""
        started = time.perf_counter()
        try:
            with anyio.fail_after(self._wait_timeout):
                await self._free_connections.acquire()
        except TimeoutError as error:
            raise DatabaseUnavailable("no connection free in time") from error
        self.pool_wait.observe(time.perf_counter() - started)
        try:
            yield
            self._answered_at = time.monotonic()
        finally:
            self._free_connections.release()

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Blocking work with sessions (a repository's method) in a worker thread, once one of
        the pool's connections is reserved for it."""
        async with self.reserved_connection():
            return await run_in_threadpool(work, *args, **kwargs)

    async def ping(self) -> None:
        async with self.reserved_connection():
            await run_in_threadpool(self._select_one)

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        return await self.run(self.read_row, query)

    async def fetch_row_reserved(self, query: str) -> tuple[Any, ...]:
        """``fetch_row`` on the connection the caller has reserved already (an endpoint's)."""
        return await run_in_threadpool(self.read_row, query)

    def busy_and_answering(self, since: float) -> bool:
        """Every connection is lent out, and one came back with the database's answer after
        `since` (a time.monotonic()): the requests waiting for a connection are getting one."""
        return self._free_connections.value == 0 and self._answered_at > since

    async def server_connections(self) -> ServerConnections:
        async with self.reserved_connection():
            return await run_in_threadpool(self._read_server_connections)

    def _read_server_connections(self) -> ServerConnections:
        with self.connection() as session:
            row = session.execute(text(SERVER_CONNECTIONS_QUERY)).one()
        return ServerConnections(*row)

    def stats(self) -> PoolStats:
        pool = self._engine.pool
        assert isinstance(pool, QueuePool)
        idle, in_use = pool.checkedin(), pool.checkedout()
        return PoolStats(
            size=idle + in_use,
            idle=idle,
            in_use=in_use,
            waiting=self._free_connections.statistics().tasks_waiting,
            min_size=self._min_size,
            max_size=pool.size(),
        )


def create_database_engine(settings: Settings) -> Engine:
    return create_engine(
        with_scheme(settings.database_url.get_secret_value(), "postgresql+psycopg"),
        # A failed statement's message never shows the values bound to it: it goes to the log
        # and to Sentry.
        hide_parameters=True,
        poolclass=QueuePool,
        # Each statement commits on its own unless a session asks for a transaction (Sessions):
        # set once per connection, not switched at every loan.
        isolation_level="AUTOCOMMIT",
        # Every connection opened is kept (until recycled), up to the maximum; no overflow
        # connections that are opened for one request and closed after it.
        pool_size=settings.db_pool_max_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        # No pool_pre_ping: it costs a round trip on every loan. A connection the server dropped
        # (a restart, a backend terminated) fails the request that finds it (503), and SQLAlchemy
        # then replaces every connection opened before it, instead of each failing once.
        pool_recycle=RECYCLE_SECONDS,
        connect_args={
            "connect_timeout": math.ceil(settings.db_connect_timeout),
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
            # PgBouncer in transaction mode may run each statement on another server
            # connection: never prepare statements on the server.
            "prepare_threshold": None,
            # PgBouncer refuses the `options` startup parameter; it sets the statement timeout
            # on its server connections itself (connect_query in pgbouncer.ini).
{%- else %}
            "options": f"-c statement_timeout={round(settings.db_statement_timeout * 1000)}",
{%- endif %}
            "application_name": "{{ cookiecutter.project_slug }}",
        },
    )


def open_connections(engine: Engine, count: int) -> None:
    """Open ``count`` connections at once and leave them in the pool; fails if the database
    cannot be reached."""
    with ExitStack() as connections:
        for _ in range(count):
            connections.enter_context(engine.connect())


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Open the pool (its minimum of connections at once), and close it at the end."""
    logger.info(
        "opening SQLAlchemy pool (%d..%d connections) to {% if cookiecutter.connection_strategy == "pgbouncer" %}PgBouncer at {% endif %}%s",
        settings.db_pool_min_size,
        settings.db_pool_max_size,
        hide_password(settings.database_url.get_secret_value()),
    )
    engine = create_database_engine(settings)
    try:
        with Watchdog(engine, settings.db_client_timeout):
            if settings.db_pool_min_size:
                await run_in_threadpool(open_connections, engine, settings.db_pool_min_size)
            database = Database(engine, settings)
            await log_pool_budget(database.server_connections, settings)
            yield database
    finally:
        logger.info("closing SQLAlchemy pool")
        try:
            await lent_connections_returned(engine)
        finally:
            await run_in_threadpool(engine.dispose)


async def lent_connections_returned(engine: Engine) -> None:
    """Wait until no connection is lent out. A wait for a session's work that was cancelled (a
    timeout, the app stopping) leaves the work running in its worker thread: asyncio cannot stop
    a thread. Disposed of before that thread gives its connection back, the pool would leave the
    connection to the garbage collector, still open. The app's close bounds this wait
    (DATABASE_CLOSE_TIMEOUT)."""
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    while pool.checkedout():  # noqa: ASYNC110 (the pool tells the event loop nothing)
        await asyncio.sleep(0.01)
