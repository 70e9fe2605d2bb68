"""What the item endpoints accept and answer, the same whatever runs the queries."""

from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, status

from ..schemas import ItemBatch, ItemCreate

# The id column is a bigint: a larger id or offset is refused as 422, never sent to the database.
MAX_BIGINT = 2**63 - 1

ItemId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_BIGINT)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No item has this id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "An item with this name exists"}}
BATCH_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A name exists already or repeats in the batch; nothing is stored"}
}


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


def in_lock_order(items: list[ItemCreate]) -> list[ItemCreate]:
    """The items sorted by name, the one order in which every batch inserts. An insert waits for
    any open transaction that inserted the same name: two batches that inserted shared names in
    opposite orders could each wait for the other (a deadlock); in one order, the later waits."""
    return sorted(items, key=lambda item: item.name)
