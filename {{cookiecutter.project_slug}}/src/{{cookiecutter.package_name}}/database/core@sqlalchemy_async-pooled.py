{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The SQLAlchemy engine and its pool of connections to PgBouncer in transaction mode, on
asyncpg: opened and closed by the lifespan, lent as an ORM session for one statement or
transaction at a time. PgBouncer sets the statement timeout on its server connections
(connect_query in pgbouncer.ini)."""
{%- else -%}
"""The SQLAlchemy engine and its connection pool, on asyncpg: opened and closed by the lifespan,
lent as an ORM session for one statement or transaction at a time."""
{%- endif %}

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from ..settings import Settings
from .connections import Sessions, treat_as_lost
from .options import connect_options
from .pool_budget import SERVER_CONNECTIONS_QUERY, ServerConnections, log_pool_budget
from .pool_stats import PoolStats, PoolWait
from .urls import hide_password, with_scheme

logger = logging.getLogger(__name__)

# Seconds after which a pooled connection is replaced, before a firewall or proxy drops it.
RECYCLE_SECONDS = 1800


class Database(Sessions):
    """The engine, with the request-sized operations the app needs (Sessions)."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        super().__init__(engine)
        assert isinstance(engine.pool, AsyncAdaptedQueuePool)  # create_database_engine's
        self._pool = engine.pool
        self._min_size = settings.db_pool_min_size
        self._answered_at = -math.inf  # when a loan last ended with the database's answer
        self.pool_wait = PoolWait()  # how long each loan waited, for the metrics

    def lent(self, waited: float) -> None:
        self.pool_wait.observe(waited)

    def answered(self) -> None:
        self._answered_at = time.monotonic()

    def busy_and_answering(self, since: float) -> bool:
        """Every connection is lent out, and one came back with the database's answer after
        `since` (a time.monotonic()): the requests waiting for a connection are getting one."""
        return self._pool.checkedout() >= self._pool.size() and self._answered_at > since

    async def server_connections(self) -> ServerConnections:
        async with self.connection() as session:
            row = (await session.execute(text(SERVER_CONNECTIONS_QUERY))).one()
        return ServerConnections(*row)

    def stats(self) -> PoolStats:
        pool = self._pool
        idle, in_use = pool.checkedin(), pool.checkedout()
        return PoolStats(
            size=idle + in_use,
            idle=idle,
            in_use=in_use,
            min_size=self._min_size,
            max_size=pool.size(),
        )


def create_database_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        with_scheme(settings.database_url.get_secret_value(), "postgresql+asyncpg"),
        # A failed statement's message never shows the values bound to it: it goes to the log
        # and to Sentry.
        hide_parameters=True,
        poolclass=AsyncAdaptedQueuePool,
{%- if cookiecutter.connection_strategy != "pgbouncer" %}
        # Each statement commits on its own unless a session asks for a transaction (Sessions):
        # set once per connection, not switched at every loan.
        isolation_level="AUTOCOMMIT",
{%- endif %}
        # Every connection opened is kept (until recycled), up to the maximum; no overflow
        # connections that are opened for one request and closed after it.
        pool_size=settings.db_pool_max_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        # No pool_pre_ping: it costs a round trip on every loan. A connection the server dropped
        # (a restart, a backend terminated) fails the request that finds it (503), and SQLAlchemy
        # then replaces every connection opened before it, instead of each failing once.
        pool_recycle=RECYCLE_SECONDS,
        connect_args=connect_options(settings),
    )
    event.listen(engine.sync_engine, "handle_error", treat_as_lost)
    return engine


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
        database = Database(engine, settings)
        async with AsyncExitStack() as opened:  # all given back together: the pool keeps them
            for _ in range(settings.db_pool_min_size):
                await opened.enter_async_context(engine.connect())
        await log_pool_budget(database.server_connections, settings)
        yield database
    finally:
        logger.info("closing SQLAlchemy pool")
        await engine.dispose()
