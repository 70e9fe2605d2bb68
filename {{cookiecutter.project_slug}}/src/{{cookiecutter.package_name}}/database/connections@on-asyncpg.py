"""How the app uses its asyncpg connections so that a failure stays bounded, and becomes the
service's own error (database/errors.py) for what it is."""

import asyncio
import logging
from collections.abc import Awaitable
from types import TracebackType
from typing import Protocol

import asyncpg
from asyncpg.transaction import Transaction

from .driver_errors import CONNECTION_LOST, UNAVAILABLE, UNIQUE_VIOLATION
from .errors import CommitOutcomeUnknown, Conflict, ConnectionLost, DatabaseUnavailable

logger = logging.getLogger(__name__)


class Connection(Protocol):
    def transaction(self) -> Transaction: ...
    def is_closed(self) -> bool: ...
    def terminate(self) -> None: ...


# After these, asyncpg serves the connection again only once the server has confirmed a cancel
# (on a server that stopped answering: one more full timeout, for a ROLLBACK or a release too),
# or no longer knows what state it is in (the server ended the session under it). Such a
# connection is ended at once instead; the server rolls back whatever it had open on it.
ABANDONED = (TimeoutError, asyncio.CancelledError, asyncpg.InternalClientError)
LOST_BEFORE_COMMIT = "the connection was lost before COMMIT was sent: nothing was saved"


def end_if_abandoned(connection: Connection, error: BaseException) -> None:
    if isinstance(error, ABANDONED):
        end(connection)


def end(connection: Connection) -> None:
    """Close the connection without a word to the server, unless it is closed already."""
    if not is_lost(connection):
        connection.terminate()


def service_error(connection: Connection, error: BaseException, writes: bool) -> Exception | None:
    """What an error raised while using ``connection`` is to the service, or None when it stays
    as it is. An abandoned connection is ended on the way. The driver's errors become the
    service's own: ``ConnectionLost`` (asyncpg's complaint about a connection that closed under
    the request included) or ``DatabaseUnavailable`` when the database cannot serve,
    ``Conflict`` for a unique key taken.

    Around a write (``writes=True``), a statement in autocommit that PostgreSQL commits before it
    answers: a connection lost, or given up on, before that answer arrived leaves the outcome
    unknown (``CommitOutcomeUnknown``), as for a COMMIT. One that asyncpg knew was closed, or
    refused to use (InternalClientError), never sent the statement: nothing was saved.
    """
    if isinstance(error, DatabaseUnavailable):
        return None
    if isinstance(error, asyncpg.InterfaceError):
        return ConnectionLost("the connection was lost") if is_lost(connection) else None
    end_if_abandoned(connection, error)
    if isinstance(error, CONNECTION_LOST):
        if writes and not isinstance(error, asyncpg.InternalClientError):
            return CommitOutcomeUnknown()
        return ConnectionLost()
    if isinstance(error, UNAVAILABLE):
        return DatabaseUnavailable()
    if isinstance(error, UNIQUE_VIOLATION):
        return Conflict()
    return None


# The context managers below are classes: they wrap every use of a connection, and a
# generator-based one costs several calls more per request.
class FailuresHandled:
    """Around a use of a connection: an error in the block becomes the service's own, as
    ``service_error`` says."""

    __slots__ = ("_connection", "_writes")

    def __init__(self, connection: Connection, writes: bool = False) -> None:
        self._connection = connection
        self._writes = writes

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None and (ours := service_error(self._connection, error, self._writes)):
            raise ours from error


def is_lost(connection: Connection) -> bool:
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:  # a pool's proxy lets go of a connection that closed
        return True


class TransactionBlock:
    """A transaction that commits when the block succeeds, and rolls back when it fails.

    Unlike asyncpg's own ``async with connection.transaction()``, it never waits on a connection
    that was given up on, never lets a failed ROLLBACK replace the error that caused it, and tells
    a COMMIT that the server refused (an error: nothing was saved) from one whose answer was lost
    (``CommitOutcomeUnknown``: it may have been saved).
    """

    __slots__ = ("_connection", "_transaction")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._transaction = connection.transaction()

    async def __aenter__(self) -> None:
        await self._transaction.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection = self._connection
        if error is not None:
            end_if_abandoned(connection, error)
            await roll_back(connection, self._transaction)
            return  # the error goes on
        if is_lost(connection):
            raise ConnectionLost(LOST_BEFORE_COMMIT)
        try:
            await self._transaction.commit()
        except asyncpg.InternalClientError as error:
            # asyncpg refused to send COMMIT: the server had ended the session before.
            end(connection)
            raise ConnectionLost(LOST_BEFORE_COMMIT) from error
        except CONNECTION_LOST as error:
            end_if_abandoned(connection, error)
            raise CommitOutcomeUnknown from error


async def roll_back(connection: Connection, transaction: Transaction) -> None:
    if is_lost(connection):
        return  # the server rolls back the transaction of a connection that ends
    try:
        await transaction.rollback()
    except Exception:
        # Lost meanwhile, or in a state asyncpg cannot roll back from: end it (the server rolls
        # back), so that the error that failed the block is the one answered.
        end(connection)


async def tidy_up(step: Awaitable[object], what: str) -> None:
    """Await a step that only tidies up after the request's work: giving a connection back or
    closing it. When it fails, asyncpg has ended the connection already, and the request's
    outcome stands (a committed write is still a success); the failure is only logged."""
    try:
        await step
    except Exception as error:
        logger.info("%s failed: %s: %s", what, type(error).__name__, error)
