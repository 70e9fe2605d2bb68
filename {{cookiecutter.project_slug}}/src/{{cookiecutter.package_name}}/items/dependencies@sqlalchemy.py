"""What the item endpoints ask for: the item repository, over the database the lifespan opened."""

{% if cookiecutter.connection_strategy != "per_request" -%}
from collections.abc import AsyncIterator
{% endif -%}
from typing import Annotated

from fastapi import Depends, Request
{% if cookiecutter.connection_strategy != "per_request" %}
from ..database.core import Database
{%- endif %}
from .repository import ItemRepository
{%- if cookiecutter.connection_strategy == "per_request" %}


# Async although it does no I/O: FastAPI would run a plain function in a worker thread.
async def get_items(request: Request) -> ItemRepository:
    return ItemRepository(request.state.db)


Items = Annotated[ItemRepository, Depends(get_items)]
{%- else %}


# Async on purpose, and one dependency, not two, for the reasons database/dependencies.py gives:
# a free connection is reserved in the event loop, and kept until the endpoint has returned.
async def get_items(request: Request) -> AsyncIterator[ItemRepository]:
    database: Database = request.state.db
    async with database.reserved_connection():
        yield ItemRepository(database)


Items = Annotated[ItemRepository, Depends(get_items, scope="function")]
{%- endif %}
