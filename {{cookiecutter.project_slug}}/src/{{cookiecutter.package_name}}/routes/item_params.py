"""What the item endpoints accept and answer, the same whatever runs the queries."""

from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, status

# The id column is a bigint: a larger id or offset is refused as 422, never sent to the database.
MAX_BIGINT = 2**63 - 1

ItemId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_BIGINT)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No item has this id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "An item with this name exists"}}


def not_found(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
