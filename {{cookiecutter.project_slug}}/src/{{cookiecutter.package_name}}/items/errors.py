"""What can go wrong with items, and how the endpoints answer it."""

from typing import Any

from fastapi import HTTPException, status

from ..database.errors import Conflict
from .schemas import ItemBatch

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No item has this id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "An item with this name exists"}}
BATCH_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A name exists already or repeats in the batch; nothing is stored"}
}


class NameTaken(Conflict):
    """An item with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an item named {name!r} already exists")


def not_found(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")


def refuse_repeated_names(batch: ItemBatch) -> None:
    """409 for a name the batch holds twice, before the database is asked anything."""
    seen: set[str] = set()
    for item in batch.items:
        if item.name in seen:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"the name {item.name!r} appears more than once in the batch",
            )
        seen.add(item.name)
