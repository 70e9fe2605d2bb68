"""How the app uses its SQLAlchemy sessions so that a failure stays bounded, and becomes the
service's own error (database/errors.py) for what it is.

Sessions run on asyncpg, through SQLAlchemy's asyncpg dialect: asyncpg bounds every statement
on the client side (``command_timeout``), and its errors arrive wrapped in SQLAlchemy's."""

import time
from types import TracebackType
from typing import Any, Protocol

import asyncpg
from sqlalchemy import exc, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .driver_errors import CONNECTION_LOST, UNAVAILABLE, UNIQUE_VIOLATION
from .errors import CommitOutcomeUnknown, Conflict, ConnectionLost, DatabaseUnavailable

# After these, the connection is in a state nobody should wait on: a statement given up on
# (asyncpg would first wait for the server to confirm a cancel, on a server that may have
# stopped answering), or a session asyncpg no longer follows. SQLAlchemy is told it is lost
# (``treat_as_lost``): it closes it without a word to the server, which rolls back whatever was
# open on it{% if cookiecutter.connection_strategy != "per_request" %}, and replaces the pool's older connections too{% endif %}. (A task cancelled in the middle of a
# statement SQLAlchemy treats so by itself.)
ABANDONED = (TimeoutError, asyncpg.InternalClientError)


def asyncpg_error(error: BaseException) -> BaseException:
    """asyncpg's own error under SQLAlchemy's: the dialect raises its DBAPI errors from it."""
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        return error.orig.__cause__ or error.orig
    return error


def treat_as_lost(context: ExceptionContext) -> None:
    """The engine's ``handle_error`` hook: a statement given up on leaves its connection lost.

    The connection is ended here, at once: SQLAlchemy would first try to close it gracefully,
    which waits up to 2 s more for a server that may have stopped answering."""
    if not isinstance(context.original_exception, ABANDONED):
        return
    context.is_disconnect = True
    if context.connection is not None and not context.connection.invalidated:
        asyncpg_connection = context.connection.connection.driver_connection
        if asyncpg_connection is not None:
            asyncpg_connection.terminate()


def service_error(error: BaseException, writes: bool) -> Exception | None:
    """What an error raised while using a session is to the service, or None when it stays as it
    is. The driver's errors become the service's own: ``ConnectionLost`` or
    ``DatabaseUnavailable`` when the database cannot serve, ``Conflict`` for a unique key taken.

    Around a write (``writes=True``), a statement in autocommit that PostgreSQL commits before it
    answers, or a COMMIT: a connection lost, or given up on, before that answer arrived leaves the
    outcome unknown (``CommitOutcomeUnknown``). One that asyncpg knew was closed, or refused to
    use (InternalClientError), never sent the statement: nothing was saved.
    """
    if isinstance(error, DatabaseUnavailable):
        return None
{%- if cookiecutter.connection_strategy != "per_request" %}
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool in time
        return DatabaseUnavailable("no connection free in time")
{%- endif %}
    lost = isinstance(error, exc.DBAPIError) and error.connection_invalidated
    cause = asyncpg_error(error)
    if isinstance(cause, asyncpg.InterfaceError):  # a connection that closed under the request
        return ConnectionLost("the connection was lost") if lost else None
    if isinstance(cause, CONNECTION_LOST) or lost:
        if writes and not isinstance(cause, asyncpg.InternalClientError):
            return CommitOutcomeUnknown()
        return ConnectionLost()
    if isinstance(cause, UNAVAILABLE):
        return DatabaseUnavailable()
    if isinstance(cause, UNIQUE_VIOLATION):
        return Conflict()
    return None


class Lender(Protocol):
    """What a loan tells the database it came from: how long it waited for its connection, and
    that the database answered."""

    def lent(self, waited: float) -> None: ...
    def answered(self) -> None: ...


class SessionLoan:
    """``async with database.connection() as session``: a session with its connection taken
    ({% if cookiecutter.connection_strategy == "per_request" %}opened, within DB_CONNECT_TIMEOUT{% else %}from the pool, within DB_POOL_TIMEOUT{% endif %}), an error in the block turned into the
    service's own (``service_error``), committed at the end if it is a transaction's, and closed
    on every path, which gives the connection back. A class rather than a generator-based
    context manager: it wraps every use of the database, and a generator costs several calls
    more each time."""

    __slots__ = ("_commits", "_lender", "_session", "_sessions", "_writes")

    def __init__(
        self,
        lender: Lender,
        sessions: async_sessionmaker[AsyncSession],
        *,
        writes: bool = False,
        commits: bool = False,
    ) -> None:
        self._lender = lender
        self._sessions = sessions
        self._writes = writes
        self._commits = commits

    async def __aenter__(self) -> AsyncSession:
        self._session = session = self._sessions()
        started = time.perf_counter()
        try:
            await session.connection()
        except BaseException as error:
            await self._end(error, writes=False)
            raise
        self._lender.lent(time.perf_counter() - started)
        return session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None:
            await self._end(error, writes=self._writes)
            return  # the error goes on
        session = self._session
        try:
            if self._commits:
                await session.commit()
        except BaseException as commit_error:
            await self._end(commit_error, writes=True)
            raise
        await session.close()
        self._lender.answered()

    async def _end(self, error: BaseException, *, writes: bool) -> None:
        """Close the session after ``error`` (rolling back what it had begun), and raise the
        service's error for it, if it has one."""
        ours = service_error(error, writes)
        # A connection given up on, or whose task was cancelled in the middle of a statement,
        # SQLAlchemy has invalidated already: closing the session then says nothing to the server.
        await self._session.close()
        if ours is not None:
            raise ours from error


class Sessions:
    """The sessions the app's work takes from the engine: for reads, for a write of one
    statement, and for a unit of work; each turns the driver's errors into the service's own."""
{%- if cookiecutter.connection_strategy == "pgbouncer" %}

    def __init__(self, engine: AsyncEngine) -> None:
        # Behind PgBouncer in transaction mode every session runs in a transaction, a statement
        # alone too: SQLAlchemy's asyncpg dialect prepares each statement in one exchange and
        # runs it in the next, and only an open transaction keeps PgBouncer from handing the
        # second to another server connection, where the statement was never prepared. It costs
        # two round trips more a statement (BEGIN, and COMMIT or ROLLBACK).
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def connection(self) -> SessionLoan:
        """A session for reads; its transaction is rolled back as it closes."""
        return SessionLoan(self, self._sessions)

    def write(self) -> SessionLoan:
        """A session for one statement that changes data, committed at the end of the block. A
        COMMIT whose answer was lost is ``CommitOutcomeUnknown``: it may have been saved."""
        return SessionLoan(self, self._sessions, writes=True, commits=True)

    def transaction(self) -> SessionLoan:
        """A session in a transaction that commits when the block succeeds, else rolls back. A
        COMMIT whose answer was lost is ``CommitOutcomeUnknown``: it may have been saved."""
        return SessionLoan(self, self._sessions, commits=True)
{%- else %}

    def __init__(self, engine: AsyncEngine) -> None:
        # The engine's connections are in autocommit (create_database_engine): a statement alone
        # needs no BEGIN and COMMIT round trips. A unit of work's session switches its
        # connection to transactions (READ COMMITTED, PostgreSQL's default) while it holds it.
        self._autocommit_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._transaction_sessions = async_sessionmaker(
            engine.execution_options(isolation_level="READ COMMITTED"), expire_on_commit=False
        )

    def connection(self) -> SessionLoan:
        """A session for reads, each statement on its own."""
        return SessionLoan(self, self._autocommit_sessions)

    def write(self) -> SessionLoan:
        """A session for one statement that changes data, in autocommit: PostgreSQL makes the
        statement a transaction of its own and commits it before it answers, with no BEGIN and
        COMMIT round trips. A connection lost before that answer arrives is
        ``CommitOutcomeUnknown``: the change may have been saved."""
        return SessionLoan(self, self._autocommit_sessions, writes=True)

    def transaction(self) -> SessionLoan:
        """A session in a transaction that commits when the block succeeds, else rolls back. A
        COMMIT whose answer was lost is ``CommitOutcomeUnknown``: it may have been saved."""
        return SessionLoan(self, self._transaction_sessions, commits=True)
{%- endif %}

    async def ping(self) -> None:
        async with self.connection() as session:
            await session.execute(text("SELECT 1"))

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        async with self.connection() as session:
            return tuple((await session.execute(text(query))).one())

    def lent(self, waited: float) -> None:
        pass

    def answered(self) -> None:
        pass
