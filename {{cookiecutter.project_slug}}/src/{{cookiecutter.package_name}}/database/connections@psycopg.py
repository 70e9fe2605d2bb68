"""How the app uses its psycopg connections so that a failure stays bounded, and becomes the
service's own error (database/errors.py) for what it is."""

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import psycopg

from .driver_errors import UNAVAILABLE, UNIQUE_VIOLATION
from .errors import CommitOutcomeUnknown, Conflict, ConnectionLost, DatabaseUnavailable

Connection = psycopg.AsyncConnection[Any]


# A class, not a generator-based context manager: it wraps every use of a connection, and a
# generator costs several calls more per request.
class FailuresHandled:
    """Around every use of a connection: give up on it when the server has not answered within
    ``answer_within`` seconds, and turn the driver's errors that mean the database cannot serve
    into the service's own: ``ConnectionLost`` for any error on a connection that broke (given up
    on included), ``DatabaseUnavailable`` for the others, and ``Conflict`` for a unique key
    taken. Around a write (``writes=True``), a
    statement in autocommit that PostgreSQL commits before it answers, a connection that broke
    before that answer arrived leaves the outcome unknown (``CommitOutcomeUnknown``), as for a
    COMMIT.

    psycopg has no client-side timeout, and a server that stops answering (a hung host, a paused
    VM) keeps its TCP connections open: psycopg would wait for as long as that lasts, and
    cancelling the task would not help (psycopg then asks the server to cancel, and waits for
    it). So the connection's socket is shut down: psycopg's wait fails at once, the connection is
    broken and discarded, and the block raises ConnectionLost. The server cancels a slow statement
    itself at DB_STATEMENT_TIMEOUT, sooner: this fires only on a server that stopped answering.
    """

    __slots__ = ("_answer_within", "_connection", "_deadline", "_writes")

    def __init__(
        self, connection: Connection, *, answer_within: float, writes: bool = False
    ) -> None:
        self._connection = connection
        self._answer_within = answer_within
        self._writes = writes

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._answer_within, cut_off, self._connection)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        deadline = self._deadline
        deadline.cancel()
        if not isinstance(error, psycopg.Error):
            return
        connection = self._connection
        if self._writes and connection.broken:
            raise CommitOutcomeUnknown from error
        if asyncio.get_running_loop().time() >= deadline.when():
            raise ConnectionLost(f"no answer within {self._answer_within:g} s") from error
        if connection.broken:  # whatever psycopg called it, such as two results for one command
            raise ConnectionLost from error
        if isinstance(error, UNAVAILABLE):
            raise DatabaseUnavailable from error
        if isinstance(error, UNIQUE_VIOLATION):
            raise Conflict from error


def cut_off(connection: Connection) -> None:
    if not connection.closed:
        # On a duplicate of the descriptor, so that closing it leaves psycopg's own alone.
        with socket.socket(fileno=os.dup(connection.fileno())) as connection_socket:
            connection_socket.shutdown(socket.SHUT_RDWR)


@asynccontextmanager
async def transaction(connection: Connection) -> AsyncIterator[None]:
    """A transaction that commits when the block succeeds, and rolls back when it fails.

    Around psycopg's own, which leaves a connection lost before COMMIT without a word: that is
    an error here (nothing was saved), and a COMMIT whose answer was lost is
    ``CommitOutcomeUnknown`` (it may have been saved).
    """
    committing = False
    try:
        async with connection.transaction() as transaction:
            yield
            committing = True  # the block succeeded: leaving psycopg's transaction commits
    except psycopg.Error as error:
        if committing and connection.broken:
            raise CommitOutcomeUnknown from error
        raise
    if transaction.status is not transaction.Status.COMMITTED:
        raise psycopg.OperationalError("the connection was lost before COMMIT: nothing was saved")
