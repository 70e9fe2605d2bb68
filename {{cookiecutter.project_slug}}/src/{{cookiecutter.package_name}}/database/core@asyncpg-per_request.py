"""Database access without a pool: every request opens a connection of its own and closes it
when the request is done, whatever happened."""

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg

from ..settings import Settings
from .connections import FailuresHandled, TransactionBlock, tidy_up
from .driver_errors import UNAVAILABLE
from .errors import DatabaseUnavailable
from .options import connect_options
from .urls import hide_password

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # asyncpg's classes are generic in its stubs only
    Connection = asyncpg.Connection[asyncpg.Record]
else:
    Connection = asyncpg.Connection


class Database:
    """Opens one connection per use, with the request-sized operations the app needs."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.database_url.get_secret_value()
        self._connect_timeout = settings.db_connect_timeout
        self._options = connect_options(settings)

    @asynccontextmanager
    async def connection(self, *, writes: bool = False) -> AsyncIterator[Connection]:
        """A new connection, closed after the block on every path."""
        try:
            connection = await asyncpg.connect(self._url, **self._options)
        except UNAVAILABLE as error:
            raise DatabaseUnavailable from error
        try:
            with FailuresHandled(connection, writes):
                yield connection
        finally:
            await tidy_up(connection.close(timeout=self._connect_timeout), "closing the connection")

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return self.connection(writes=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A new connection inside a transaction that commits when the block succeeds."""
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


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Nothing is opened ahead: each request connects to the database itself."""
    logger.info(
        "connecting to %s for each request (no pool)",
        hide_password(settings.database_url.get_secret_value()),
    )
    yield Database(settings)
