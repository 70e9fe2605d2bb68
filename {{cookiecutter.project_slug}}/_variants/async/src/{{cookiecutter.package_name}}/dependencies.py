"""What endpoints ask for: the database, and the item repository over it."""

from typing import Annotated

from fastapi import Depends, Request

from .database import Database
from .repository import ItemRepository


# Async although they do no I/O: FastAPI would run plain functions in a worker thread. Neither
# yields: a dependency with cleanup costs FastAPI far more per request than the query itself,
# and the repository gives every connection back by itself.
async def get_database(request: Request) -> Database:
    database: Database = request.state.db
    return database


Db = Annotated[Database, Depends(get_database)]


async def get_items(request: Request) -> ItemRepository:
    return ItemRepository(request.state.db)


Items = Annotated[ItemRepository, Depends(get_items)]
