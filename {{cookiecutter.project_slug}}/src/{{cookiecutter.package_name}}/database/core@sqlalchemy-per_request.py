"""The SQLAlchemy engine, without a pool: every request's session opens a connection of its own
and closes it when the request is done, whatever happened."""

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from ..settings import Settings
from .connections import Sessions, Watchdog
from .urls import hide_password, with_scheme

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class Database(Sessions):
    """The engine, with the request-sized operations the app needs (Sessions). Sessions do
    blocking I/O, so they run in worker threads."""

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Blocking work with sessions (a repository's method) in a worker thread."""
        return await run_in_threadpool(work, *args, **kwargs)

    async def ping(self) -> None:
        await run_in_threadpool(self._select_one)

    async def fetch_row(self, query: str) -> tuple[Any, ...]:
        """The one row a query without parameters returns (the replica's checks)."""
        return await self.run(self.read_row, query)


def create_database_engine(settings: Settings) -> Engine:
    return create_engine(
        with_scheme(settings.database_url.get_secret_value(), "postgresql+psycopg"),
        # A failed statement's message never shows the values bound to it: it goes to the log
        # and to Sentry.
        hide_parameters=True,
        # No pool: a connection is opened when a session needs one and closed when it is done.
        poolclass=NullPool,
        # Each statement commits on its own unless a session asks for a transaction (Sessions).
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
