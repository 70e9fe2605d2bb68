"""How the app uses its SQLAlchemy connections so that a failure stays bounded, and becomes the
service's own error (database/errors.py) for what it is."""

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from .driver_errors import UNAVAILABLE, UNIQUE_VIOLATION
from .errors import CommitOutcomeUnknown, Conflict, ConnectionLost, DatabaseUnavailable

logger = logging.getLogger(__name__)


class Watchdog:
    """Gives up on a connection that is still lent out after ``seconds``.

    psycopg has no client-side timeout, and a server that stops answering (a hung host, a paused
    VM) keeps its TCP connections open: a worker thread waiting for its answer would wait for as
    long as that lasts, and nothing can stop a thread from outside. This watchdog, in a thread of
    its own, shuts the connection's socket down when a loan outlives its deadline: the blocked
    read fails at once, as on a lost connection, and SQLAlchemy discards the connection (and,
    as after any lost connection, the others opened before it). The server cancels a slow
    statement itself at DB_STATEMENT_TIMEOUT, sooner: this fires only on a server that stopped
    answering.
    """

    def __init__(self, engine: Engine, seconds: float) -> None:
        self._engine = engine
        self._seconds = seconds
        # The deadline of each loan, with a duplicate of its socket's descriptor (so that it
        # stays that connection's whatever happens to psycopg's). Every loan gets as long, so the
        # first one in is the first one due.
        self._loans: dict[int, tuple[float, int]] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._watch, name="database watchdog", daemon=True)

    def __enter__(self) -> None:
        event.listen(self._engine, "checkout", self._lent)
        event.listen(self._engine, "checkin", self._returned)
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self._engine, "checkout", self._lent)
        event.remove(self._engine, "checkin", self._returned)
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()

    def _lent(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        descriptor = os.dup(dbapi_connection.fileno())
        with self._changed:
            if not self._loans:
                self._changed.notify()  # the watchdog sleeps until told there is a loan
            self._loans[id(record)] = (time.monotonic() + self._seconds, descriptor)

    def _returned(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        with self._changed:
            loan = self._loans.pop(id(record), None)
        if loan is not None:
            os.close(loan[1])

    def _watch(self) -> None:
        with self._changed:
            while not self._stopping:
                if not self._loans:
                    self._changed.wait()
                    continue
                key, (deadline, descriptor) = next(iter(self._loans.items()))
                if (left := deadline - time.monotonic()) > 0:
                    self._changed.wait(left)
                    continue
                del self._loans[key]
                cut_off(descriptor)
                logger.warning(
                    "no answer from the database within %g s: connection given up", self._seconds
                )


def cut_off(descriptor: int) -> None:
    """Shut the socket down, for every descriptor of it, and close this one."""
    with socket.socket(fileno=descriptor) as connection_socket, suppress(OSError):
        connection_socket.shutdown(socket.SHUT_RDWR)


@contextmanager
def failures_handled(*, writes: bool = False) -> Iterator[None]:
    """Around every use of a session: the driver's errors become the service's own. An error on
    a connection that SQLAlchemy found lost, and invalidated, is ``ConnectionLost``, whatever
    psycopg called it (such as two results for one command, when a pooler in between loses its
    server); the others that mean the database cannot serve are ``DatabaseUnavailable``; a unique
    key taken is ``Conflict``. Around a write (``writes=True``), a statement in autocommit that
    PostgreSQL commits before it answers, a connection lost before that answer arrived leaves
    the outcome unknown (``CommitOutcomeUnknown``), as for a COMMIT."""
    try:
        yield
    except exc.DBAPIError as error:
        if error.connection_invalidated and writes:
            raise CommitOutcomeUnknown from error
        if error.connection_invalidated:
            raise ConnectionLost from error
        if isinstance(error, UNAVAILABLE):
            raise DatabaseUnavailable from error
        if isinstance(error.orig, UNIQUE_VIOLATION):
            raise Conflict from error
        raise
{%- if cookiecutter.connection_strategy != "per_request" %}
    except exc.TimeoutError as error:  # the pool's own wait for a connection
        raise DatabaseUnavailable from error
{%- endif %}


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """A transaction that commits when the block succeeds; when it fails, closing the session
    rolls back. A COMMIT whose answer was lost is ``CommitOutcomeUnknown``: it may have been
    saved."""
    session.begin()
    yield
    try:
        session.commit()
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise CommitOutcomeUnknown from error
        raise


class Sessions:
    """The sessions the app's work takes from the engine: for reads, for a write of one
    statement, and for a unit of work; each turns the driver's errors into the service's own."""

    def __init__(self, engine: Engine) -> None:
        # The engine's connections are in autocommit (create_database_engine): a statement alone
        # needs no BEGIN and COMMIT round trips. A unit of work's session switches its
        # connection to transactions (READ COMMITTED, PostgreSQL's default) while it holds it.
        self._autocommit_sessions = sessionmaker(engine, expire_on_commit=False)
        self._transaction_sessions = sessionmaker(
            engine.execution_options(isolation_level="READ COMMITTED"), expire_on_commit=False
        )

    @contextmanager
    def connection(self) -> Iterator[Session]:
        """A session for reads, each statement on its own; its connection is released at the end
        (back to the pool, or closed without one)."""
        with failures_handled(), self._autocommit_sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        with failures_handled(writes=True), self._autocommit_sessions() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction that commits when the block succeeds, else rolls back."""
        with failures_handled(), self._transaction_sessions() as session, transaction(session):
            yield session

    def _select_one(self) -> None:  # for a probe, in a worker thread
        with self.connection() as session:
            session.execute(text("SELECT 1"))

    def read_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns, in this (worker) thread."""
        with self.connection() as session:
            return tuple(session.execute(text(query)).one())
