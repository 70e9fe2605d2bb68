"""The SQLAlchemy engine on asyncpg, without a pool: every request's session opens a connection
of its own and closes it when the request is done, whatever happened."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ..settings import Settings
from .connections import Sessions, treat_as_lost
from .options import connect_options
from .urls import hide_password, with_scheme

logger = logging.getLogger(__name__)


class Database(Sessions):
    """The engine, with the request-sized operations the app needs (Sessions)."""


def create_database_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        with_scheme(settings.database_url.get_secret_value(), "postgresql+asyncpg"),
        # A failed statement's message never shows the values bound to it: it goes to the log
        # and to Sentry.
        hide_parameters=True,
        # No pool: a connection is opened when a session needs one and closed when it is done.
        poolclass=NullPool,
        # Each statement commits on its own unless a session asks for a transaction (Sessions).
        isolation_level="AUTOCOMMIT",
        connect_args=connect_options(settings),
    )
    event.listen(engine.sync_engine, "handle_error", treat_as_lost)
    return engine


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """Nothing is opened ahead: each request connects to the database itself."""
    logger.info(
        "connecting to %s for each request (no pool)",
        hide_password(settings.database_url.get_secret_value()),
    )
    engine = create_database_engine(settings)
    try:
        yield Database(engine)
    finally:
        await engine.dispose()
