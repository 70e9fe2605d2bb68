{%- set raw = ".raw_connection" if cookiecutter.db_driver == "databases" else "" -%}
"""asyncpg calls the use of a connection that closed under a request a programming error
(InterfaceError); the database package reports it as the lost connection it is (503)."""

import asyncio

import asyncpg
import pytest

from {{ cookiecutter.package_name }}.database.core import Database, open_database
from {{ cookiecutter.package_name }}.database.errors import ConnectionLost

from .conftest import make_settings
from .postgres import terminate_backends


async def use_after_it_closed(database: Database, database_url: str) -> None:
    """A transaction whose connection the server ends between two statements."""
    async with database.transaction() as connection:
        closed = asyncio.Event()
        connection{{ raw }}.add_termination_listener(lambda _: closed.set())
        await asyncio.to_thread(terminate_backends, database_url)
        await asyncio.wait_for(closed.wait(), 10)
        await connection.{% if cookiecutter.db_driver == "databases" %}fetch_val{% else %}fetchval{% endif %}("SELECT 1")


async def test_a_connection_lost_between_two_statements_is_a_lost_connection(
    database_url: str,
) -> None:
    async with open_database(make_settings(database_url)) as database:
        with pytest.raises(ConnectionLost) as raised:
            await use_after_it_closed(database, database_url)

    assert isinstance(raised.value.__cause__, asyncpg.InterfaceError)
