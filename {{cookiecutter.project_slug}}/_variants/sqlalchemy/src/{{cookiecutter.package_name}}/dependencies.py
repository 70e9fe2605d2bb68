"""What endpoints ask for: the database, and item repositories over a session lent to the
request."""

from collections.abc import {% if cookiecutter.connection_strategy != "per_request" %}AsyncIterator, {% endif %}Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .database import Database
from .repository import ItemRepository


# Dependencies that do no I/O are async: FastAPI runs plain functions in a worker thread.
async def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]
{%- if cookiecutter.connection_strategy == "per_request" %}


def read_session(db: Db) -> Iterator[Session]:
    with db.connection() as session:
        yield session


def write_session(db: Db) -> Iterator[Session]:
    with db.transaction() as session:
        yield session
{%- else %}


async def reserve_connection(db: Db) -> AsyncIterator[None]:
    """Async on purpose: the wait for a free connection holds no thread."""
    async with db.reserved_connection():
        yield


# The sessions depend on the reservation, so each gives its connection back to the pool before
# the reservation is released.
ConnectionReserved = Annotated[None, Depends(reserve_connection, scope="function")]


def read_session(db: Db, _reserved: ConnectionReserved) -> Iterator[Session]:
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    # Behind PgBouncer a read is a transaction too: only so does its statement timeout hold.
    with db.transaction() as session:
{%- else %}
    with db.connection() as session:
{%- endif %}
        yield session


def write_session(db: Db, _reserved: ConnectionReserved) -> Iterator[Session]:
    with db.transaction() as session:
        yield session
{%- endif %}


# scope="function" commits before the response is sent, so a failed commit is never a 2xx.
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


async def items_reader(session: ReadSession) -> ItemRepository:
    return ItemRepository(session)


async def items_writer(session: WriteSession) -> ItemRepository:
    return ItemRepository(session)


ItemsReader = Annotated[ItemRepository, Depends(items_reader)]
ItemsWriter = Annotated[ItemRepository, Depends(items_writer)]
