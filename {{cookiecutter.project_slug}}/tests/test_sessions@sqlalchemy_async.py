"""What AsyncSession needs to be safe on the request path: a row stays readable once its session
has ended (an attribute loaded on access would need I/O that AsyncSession refuses, a
MissingGreenlet error and a 500), and a request cancelled in the middle of a statement leaves no
connection busy behind it."""

import asyncio

import pytest
from sqlalchemy import text

from {{ cookiecutter.package_name }}.database.core import Database, open_database
from {{ cookiecutter.package_name }}.items import models
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import APPLICATION_NAME
from .postgres import connections_of, eventually


def read_every_column(row: models.Item) -> dict[str, object]:
    """Every column of the row, read as the repository's models do (MissingGreenlet if one was
    not loaded)."""
    return {column.key: getattr(row, column.key) for column in models.Item.__table__.columns}


async def test_rows_written_stay_readable_after_their_session(settings: Settings) -> None:
    async with open_database(settings) as database:
        async with database.write() as session:
            written = models.Item(name="lamp")
            session.add(written)
            await session.flush()  # the server's defaults (id, created_at) come back with it
        async with database.transaction() as session:  # ends with a COMMIT
            committed = models.Item(name="desk", description="oak")
            session.add(committed)

        # After the session, with nothing left to load from: expire_on_commit=False, and the
        # INSERT returned what the server filled in.
        for row, name in ((written, "lamp"), (committed, "desk")):
            columns = read_every_column(row)
            assert columns["name"] == name
            assert isinstance(columns["id"], int)
            assert columns["created_at"] is not None


async def sleep_in_a_statement(database: Database) -> None:
    async with database.connection() as session:
        await session.execute(text("SELECT pg_sleep(30)"))


async def test_a_request_cancelled_mid_statement_leaves_no_connection_busy(
    settings: Settings, database_url: str
) -> None:
    async with open_database(settings) as database:
        sleeper = asyncio.create_task(sleep_in_a_statement(database))
        await eventually(
            lambda: "active" in connections_of(database_url, APPLICATION_NAME),
            what="the statement to run",
        )
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper

        # Its connection was ended, not handed back mid-statement: the server ends the statement
        # with it, and the next session gets a connection that answers.
        await eventually(
            lambda: "active" not in connections_of(database_url, APPLICATION_NAME),
            what="the cancelled statement to end",
        )
{%- if cookiecutter.connection_strategy != "per_request" %}
        assert database.stats().in_use == 0
{%- endif %}
        await database.ping()
