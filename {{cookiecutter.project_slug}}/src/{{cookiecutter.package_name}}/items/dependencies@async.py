"""What the item endpoints ask for: the item repository, over the database the lifespan opened."""

from typing import Annotated

from fastapi import Depends, Request

from .repository import ItemRepository


# Async although it does no I/O, and without cleanup, for the reasons database/dependencies.py
# gives: the repository borrows a connection for each statement and gives it back itself.
async def get_items(request: Request) -> ItemRepository:
    return ItemRepository(request.state.db)


Items = Annotated[ItemRepository, Depends(get_items)]
