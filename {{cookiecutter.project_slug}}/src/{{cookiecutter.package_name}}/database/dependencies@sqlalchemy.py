"""What endpoints ask of the database: the database itself, and units of work."""

{% if cookiecutter.connection_strategy != "per_request" -%}
from collections.abc import AsyncIterator
{% endif -%}
from typing import Annotated

from fastapi import Depends, Request

from .core import Database
from .unit_of_work import UnitOfWork


# Async although it does no I/O: FastAPI would run a plain function in a worker thread.
async def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]
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
