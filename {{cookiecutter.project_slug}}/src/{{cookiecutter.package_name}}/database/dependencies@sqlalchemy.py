"""What endpoints ask of the database: the database itself, the one a read goes to, and units of
work."""

{% if cookiecutter.connection_strategy != "per_request" -%}
from collections.abc import AsyncIterator
{% endif -%}
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from .core import Database
from .replica import READ_AFTER, Reads, Replica
from .unit_of_work import UnitOfWork


# Async although it does no I/O: FastAPI would run a plain function in a worker thread.
async def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]


async def get_reads(request: Request) -> Reads:
    """For the one-statement reads: with a replica, the replica while it is healthy and has
    replayed the client's X-Read-After, else the primary (database/replica.py)."""
    replica: Replica | None = request.state.replica
    if replica is None:
        return Reads(request.state.db)
    try:
        return Reads(await replica.database_for(request.headers.get(READ_AFTER)), replica)
    except ValueError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{READ_AFTER} must be a WAL position from a write's answer, such as 0/16B3748",
        ) from error


ReadOn = Annotated[Reads, Depends(get_reads)]


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
