"""What the items API accepts and answers."""

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..web.schemas import NO_NUL, RequestBody

# Keeps an item, and a page of a hundred, a reasonable size; the database checks it too.
DESCRIPTION_MAX_LENGTH = 2000

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]

# Items one POST /items/batch may create: all of them in one transaction.
BATCH_MAX_ITEMS = 100


class ItemCreate(RequestBody):
    name: Name
    description: Description = None


class ItemBatch(RequestBody):
    items: list[ItemCreate] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)

    def in_lock_order(self) -> list[ItemCreate]:
        """The items sorted by name, the one order in which every batch inserts. An insert
        waits for any open transaction that inserted the same name: two batches that inserted
        shared names in opposite orders could each wait for the other (a deadlock); in one
        order, the later waits."""
        return sorted(self.items, key=lambda item: item.name)


class ItemUpdate(RequestBody):
    """Only the fields present in the body change; ``description`` may be set to null."""

    name: Name | None = None
    description: Description = None

    @model_validator(mode="after")
    def _name_is_not_null(self) -> Self:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class Item(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
