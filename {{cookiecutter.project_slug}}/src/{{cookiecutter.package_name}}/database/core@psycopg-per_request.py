"""Database access without a pool: every request opens a connection of its own and closes it
when the request is done, whatever happened."""

import logging
import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from ..settings import Settings
from .connections import FailuresHandled, transaction
from .driver_errors import UNAVAILABLE
from .errors import DatabaseUnavailable
from .urls import hide_password

logger = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[TupleRow]


class Database:
    """Opens one connection per use, with the request-sized operations the app needs."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.database_url.get_secret_value()
        self._connect_timeout = math.ceil(settings.db_connect_timeout)
        self._client_timeout = settings.db_client_timeout
        self._options = f"-c statement_timeout={math.ceil(settings.db_statement_timeout * 1000)}"

    @asynccontextmanager
    async def connection(self, *, writes: bool = False) -> AsyncIterator[Connection]:
        """A new connection (autocommit), closed after the block on every path."""
        try:
            connection = await Connection.connect(
                self._url,
                # A statement alone needs no transaction: autocommit spares it BEGIN and COMMIT.
                # Several statements that commit together run in one (Database.transaction).
                autocommit=True,
                application_name="{{ cookiecutter.project_slug }}",
                connect_timeout=self._connect_timeout,
                options=self._options,
            )
        except UNAVAILABLE as error:
            raise DatabaseUnavailable from error
        async with connection:
            with FailuresHandled(connection, answer_within=self._client_timeout, writes=writes):
                yield connection

    def write(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return self.connection(writes=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A new connection inside a transaction that commits when the block succeeds."""
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


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Nothing is opened ahead: each request connects to the database itself."""
    logger.info(
        "connecting to %s for each request (no pool)",
        hide_password(settings.database_url.get_secret_value()),
    )
    yield Database(settings)
