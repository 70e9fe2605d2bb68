"""Database access without a shared pool: every request connects a ``databases.Database`` of its
own, holding one connection, and disconnects it when the request is done, whatever happened.

databases cannot connect without asyncpg's pool underneath, so each request's pool has exactly
one connection and lives only as long as the request.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import databases
from databases.core import Connection

from ..settings import Settings
from .connections import FailuresHandled, TransactionBlock, tidy_up
from .driver_errors import UNAVAILABLE
from .errors import DatabaseUnavailable
from .options import connect_options
from .urls import hide_password

logger = logging.getLogger(__name__)

# databases logs every query with its values at DEBUG, and the connection URL at INFO.
logging.getLogger("databases").setLevel(logging.WARNING)


class Database:
    """Connects once per use, with the request-sized operations the app needs."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.database_url.get_secret_value()
        self._options = connect_options(settings)

    def _new_database(self) -> databases.Database:
        return databases.Database(
            self._url,
            # The keyword arguments below go to asyncpg.create_pool. databases reads only the
            # host, port, user, password and database from the URL; given the URL too, asyncpg
            # honours the rest of it (sslmode, options, ...).
            dsn=self._url,
            min_size=1,
            max_size=1,
            **self._options,
        )

    @asynccontextmanager
    async def connection(self, *, writes: bool = False) -> AsyncIterator[Connection]:
        """A new connection, closed after the block on every path."""
        database = self._new_database()
        try:
            await database.connect()
        except UNAVAILABLE as error:
            raise DatabaseUnavailable from error
        # Entered and left by hand: a failure to give the connection back, or to close it, must
        # not undo what the request did.
        try:
            connection = database.connection()
            await connection.__aenter__()
            try:
                with FailuresHandled(connection.raw_connection, writes):
                    yield connection
            finally:
                await tidy_up(connection.__aexit__(), "giving the connection back")
        finally:
            await tidy_up(database.disconnect(), "closing the connection")

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return self.connection(writes=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A new connection inside a transaction that commits when the block succeeds.

        The transaction is asyncpg's, on the same connection: ``databases``' own transaction()
        never gives its connection back when COMMIT or ROLLBACK fails, and disconnecting would
        then wait for it forever.
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


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Nothing is opened ahead: each request connects to the database itself."""
    logger.info(
        "connecting to %s for each request (no pool)",
        hide_password(settings.database_url.get_secret_value()),
    )
    yield Database(settings)
