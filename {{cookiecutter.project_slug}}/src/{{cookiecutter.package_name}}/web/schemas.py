"""What every request body shares: unknown fields refused, and text PostgreSQL can store."""

from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

# PostgreSQL text cannot hold NUL; refusing it here answers 422 instead of a database error.
NO_NUL = r"^[^\x00]*$"


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
