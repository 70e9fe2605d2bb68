"""The path and query parameters of the item endpoints."""

from typing import Annotated

from fastapi import Path, Query

# The id column is a bigint: a larger id or offset is refused as 422, never sent to the database.
MAX_BIGINT = 2**63 - 1

ItemId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_BIGINT)]
