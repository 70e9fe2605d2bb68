"""The API's request and response bodies."""

from datetime import datetime
from itertools import islice
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# PostgreSQL text cannot hold NUL; refusing it here answers 422 instead of a database error.
NO_NUL = r"^[^\x00]*$"

# Keeps an item, and a page of a hundred, a reasonable size; the database checks it too.
DESCRIPTION_MAX_LENGTH = 2000

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=NO_NUL)]

# Items one POST /items/batch may create: all of them in one transaction.
BATCH_MAX_ITEMS = 100


class RequestBody(BaseModel):
    """A body the client sends: fields the schema does not name are refused, with one error
    however many there are. Pydantic would make one per field, and a body of a hundred thousand
    made-up keys would cost a second to answer."""

    model_config = ConfigDict(extra="forbid")  # and the OpenAPI schema says so
    # Computed once per class: `model_fields`, read on the class, costs microseconds each time.
    _field_names: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._field_names = frozenset(cls.model_fields)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_fields(cls, data: object) -> object:
        if isinstance(data, dict) and not data.keys() <= cls._field_names:
            unknown = data.keys() - cls._field_names
            named = ", ".join(repr(str(key)[:64]) for key in islice(unknown, 3))
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise PydanticCustomError(
                "extra_forbidden",
                "Unknown fields are not permitted: {fields}",
                {"fields": named + more},
            )
        return data


class ItemCreate(RequestBody):
    name: Name
    description: Description = None


class ItemBatch(RequestBody):
    items: list[ItemCreate] = Field(min_length=1, max_length=BATCH_MAX_ITEMS)


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
