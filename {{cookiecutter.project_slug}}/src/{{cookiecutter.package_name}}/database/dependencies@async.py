"""What endpoints ask of the database: the database itself, the one a read goes to, and units of
work."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from .core import Database
from .replica import READ_AFTER, Reads, Replica
from .unit_of_work import UnitOfWork


# Async although they do no I/O: FastAPI would run plain functions in a worker thread. None
# yields: a dependency with cleanup costs FastAPI far more per request than the query itself,
# and the database gives every connection back by itself (a unit of work, at the end of the
# endpoint's `async with` block). An endpoint takes one of them, never a chain: FastAPI spends
# more on each dependency of a request than this code does (fastapi/fastapi#5562).
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
        response.headers[READ_AFTER] = await replica.primary_position()


async def get_unit_of_work(request: Request) -> UnitOfWork:
    return UnitOfWork(request.state.db)


Work = Annotated[UnitOfWork, Depends(get_unit_of_work)]
