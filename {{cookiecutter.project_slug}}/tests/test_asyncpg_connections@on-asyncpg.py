{%- set raw = ".raw_connection" if cookiecutter.db_driver == "databases" else "" -%}
{%- set sqlalchemy = cookiecutter.db_driver == "sqlalchemy_async" -%}
"""asyncpg calls the use of a connection that closed under a request a programming error
(InterfaceError); the database package reports it as the lost connection it is (503)."""

import asyncio

import asyncpg
import pytest
{%- if sqlalchemy %}
from sqlalchemy import text
{%- endif %}

{% if sqlalchemy -%}
from {{ cookiecutter.package_name }}.database.connections import asyncpg_error
{% endif -%}
from {{ cookiecutter.package_name }}.database.core import Database, open_database
from {{ cookiecutter.package_name }}.database.errors import ConnectionLost

from .conftest import make_settings
from .postgres import terminate_backends


async def use_after_it_closed(database: Database, database_url: str) -> None:
    """A transaction whose connection the server ends between two statements."""
{%- if sqlalchemy %}
    async with database.transaction() as session:
        await session.execute(text("SELECT 1"))
        connection = (await (await session.connection()).get_raw_connection()).driver_connection
        assert connection is not None
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _: closed.set())
        await asyncio.to_thread(terminate_backends, database_url)
        await asyncio.wait_for(closed.wait(), 10)
        await session.execute(text("SELECT 1"))
{%- else %}
    async with database.transaction() as connection:
        closed = asyncio.Event()
        connection{{ raw }}.add_termination_listener(lambda _: closed.set())
        await asyncio.to_thread(terminate_backends, database_url)
        await asyncio.wait_for(closed.wait(), 10)
        await connection.{% if cookiecutter.db_driver == "databases" %}fetch_val{% else %}fetchval{% endif %}("SELECT 1")
{%- endif %}


async def test_a_connection_lost_between_two_statements_is_a_lost_connection(
    database_url: str,
) -> None:
    async with open_database(make_settings(database_url)) as database:
        with pytest.raises(ConnectionLost) as raised:
            await use_after_it_closed(database, database_url)

{%- if sqlalchemy %}

    # SQLAlchemy's error, raised from asyncpg's.
    assert raised.value.__cause__ is not None
    assert isinstance(asyncpg_error(raised.value.__cause__), asyncpg.InterfaceError)
{%- else %}

    assert isinstance(raised.value.__cause__, asyncpg.InterfaceError)
{%- endif %}
