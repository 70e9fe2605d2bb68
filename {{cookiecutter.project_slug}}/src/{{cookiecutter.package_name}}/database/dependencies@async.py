"""What endpoints ask of the database: the database itself and units of work; and what a write
tells a client that reads from a replica after it."""

from typing import Annotated

from fastapi import Depends, Request, Response

from .core import Database
from .replica import READ_AFTER, Replica
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


async def tell_read_after(request: Request, response: Response) -> None:
    """With a replica, after a write has committed: the primary's WAL position in the answer's
    X-Read-After, for the client's next read to send back and see its write."""
    replica: Replica | None = request.state.replica
    if replica is not None:
        response.headers[READ_AFTER] = await replica.primary_position()


async def get_unit_of_work(request: Request) -> UnitOfWork:
    return UnitOfWork(request.state.db)


Work = Annotated[UnitOfWork, Depends(get_unit_of_work)]
