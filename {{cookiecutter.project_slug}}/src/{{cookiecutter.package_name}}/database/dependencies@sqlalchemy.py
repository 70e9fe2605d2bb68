"""What endpoints ask of the database: the database itself and units of work; and what a write
tells a client that reads from a replica after it."""

{% if cookiecutter.connection_strategy != "per_request" -%}
from collections.abc import AsyncIterator
{% endif -%}
from typing import Annotated

from fastapi import Depends, Request, Response

from .core import Database
from .replica import READ_AFTER, Replica
from .unit_of_work import UnitOfWork


# Async although it does no I/O: FastAPI would run a plain function in a worker thread.
async def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]


async def tell_read_after(request: Request, response: Response) -> None:
    """With a replica, after a write has committed: the primary's WAL position in the answer's
    X-Read-After, for the client's next read to send back and see its write."""
    replica: Replica | None = request.state.replica
    if replica is not None:
{%- if cookiecutter.connection_strategy == "per_request" %}
        response.headers[READ_AFTER] = await replica.primary_position()
{%- else %}
        # On the connection the endpoint has reserved: reserving another could wait for itself
        # once every connection is reserved.
        database: Database = request.state.db
        response.headers[READ_AFTER] = await replica.primary_position(database.fetch_row_reserved)
{%- endif %}
{%- if cookiecutter.connection_strategy == "per_request" %}


async def get_unit_of_work(request: Request) -> UnitOfWork:
    return UnitOfWork(request.state.db)


Work = Annotated[UnitOfWork, Depends(get_unit_of_work)]
{%- else %}


# Async on purpose: the wait for a free connection holds no thread. The endpoint's work, in its
# thread, then finds a connection ready; scope="function" keeps it reserved until the endpoint
# has returned, and with it the connection. The reservation and the unit of work are one
# dependency, not two: FastAPI spends more on each dependency of a request than this code does
# (fastapi/fastapi#5562).
async def get_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    database: Database = request.state.db
    async with database.reserved_connection():
        yield UnitOfWork(database)


Work = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]
{%- endif %}
