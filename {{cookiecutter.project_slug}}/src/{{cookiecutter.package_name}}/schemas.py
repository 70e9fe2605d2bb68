"""The API's request and response bodies."""

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# PostgreSQL text cannot hold NUL; refusing it here answers 422 instead of a database error.
NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Description = Annotated[str | None, Field(pattern=NO_NUL)]

# Items one POST /items/batch may create: all of them in one transaction.
BATCH_MAX_ITEMS = 100


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = None


class ItemBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ItemCreate] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)


class ItemUpdate(BaseModel):
    """Only the fields present in the body change; ``description`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

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


class Status(BaseModel):
    status: str
{%- if cookiecutter.connection_strategy != "per_request" %}


class PoolStats(BaseModel):
    """What the driver tells about its pool; fields it does not know are null."""

    size: int | None = None
    idle: int | None = None
    in_use: int | None = None
    waiting: int | None = None
    min_size: int | None = None
    max_size: int | None = None


class Readiness(Status):
    pool: PoolStats
{%- endif %}
