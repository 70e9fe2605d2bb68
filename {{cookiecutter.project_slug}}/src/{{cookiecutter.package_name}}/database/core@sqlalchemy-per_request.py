"""The SQLAlchemy engine, without a pool: every request's session opens a connection of its own
and closes it when the request is done, whatever happened."""

import logging
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ..settings import Settings
from .connections import Watchdog, failures_handled, transaction
from .urls import hide_password, with_scheme

logger = logging.getLogger(__name__)


class Database:
    """The engine, with the request-sized operations the app needs. Sessions do blocking I/O,
    so they run in worker threads."""

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
        """A session for reads, each statement on its own; its connection is closed at the end."""
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

    async def ping(self) -> None:
        await run_in_threadpool(self._select_one)

    def _select_one(self) -> None:
        with self.connection() as session:
            session.execute(text("SELECT 1"))


def create_database_engine(settings: Settings) -> Engine:
    return create_engine(
        with_scheme(settings.database_url.get_secret_value(), "postgresql+psycopg"),
        # No pool: a connection is opened when a session needs one and closed when it is done.
        poolclass=NullPool,
        # Each statement commits on its own unless a session asks for a transaction (Database).
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": math.ceil(settings.db_connect_timeout),
            "options": f"-c statement_timeout={round(settings.db_statement_timeout * 1000)}",
            "application_name": "{{ cookiecutter.project_slug }}",
        },
    )


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Nothing is opened ahead: each request connects to the database itself."""
    logger.info(
        "connecting to %s for each request (no pool)",
        hide_password(settings.database_url.get_secret_value()),
    )
    engine = create_database_engine(settings)
    try:
        with Watchdog(engine, settings.db_client_timeout):
            yield Database(engine)
    finally:
        await run_in_threadpool(engine.dispose)
