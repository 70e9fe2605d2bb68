"""What endpoints ask for: the database, and item repositories over a connection lent to the
request."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from .database import Connection, Database
from .repository import ItemRepository


def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]


async def read_connection(db: Db) -> AsyncIterator[Connection]:
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    # Behind PgBouncer a read is a transaction too: only so does its statement timeout hold.
    async with db.transaction() as connection:
{%- else %}
    async with db.connection() as connection:
{%- endif %}
        yield connection


async def write_connection(db: Db) -> AsyncIterator[Connection]:
    async with db.transaction() as connection:
        yield connection


# scope="function" commits before the response is sent, so a failed commit is never a 2xx.
ReadConnection = Annotated[Connection, Depends(read_connection, scope="function")]
WriteConnection = Annotated[Connection, Depends(write_connection, scope="function")]


def items_reader(connection: ReadConnection) -> ItemRepository:
    return ItemRepository(connection)


def items_writer(connection: WriteConnection) -> ItemRepository:
    return ItemRepository(connection)


ItemsReader = Annotated[ItemRepository, Depends(items_reader)]
ItemsWriter = Annotated[ItemRepository, Depends(items_writer)]
