"""CRUD on items, and batches of them. Every write commits before the endpoint returns, so before
the response is sent: a failed commit is never answered 2xx."""

from fastapi import Response, status

from ..dependencies import Items, Work
from ..repository import ItemRepository
from ..schemas import Item, ItemBatch, ItemCreate, ItemUpdate
from .item_params import (
    BATCH_CONFLICT,
    CONFLICT,
    NOT_FOUND,
    ItemId,
    Limit,
    Offset,
    in_lock_order,
    not_found,
    refuse_repeated_names,
)
from .route_table import RouteTable

routes = RouteTable(prefix="/items", tags=["items"])


# A request is matched against the routes in the order they are declared, at a cost for each
# one it passes: the most frequent, reading an item and creating one, come first.
@routes.get("/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: ItemId, items: Items) -> Item:
    item = await items.get(item_id)
    if item is None:
        raise not_found(item_id)
    return item


@routes.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_item(body: ItemCreate, items: Items) -> Item:
    return await items.create(body)


@routes.get("")
async def list_items(items: Items, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
    """Items, newest first."""
    return await items.list(limit=limit, offset=offset)


@routes.post("/batch", status_code=status.HTTP_201_CREATED, responses=BATCH_CONFLICT)
async def create_items(batch: ItemBatch, work: Work) -> list[Item]:
    """All the items, in the order given, or none: one unit of work."""
    refuse_repeated_names(batch)
    async with work:
        items = ItemRepository(work)
        created = {item.name: await items.create(item) for item in in_lock_order(batch.items)}
    return [created[item.name] for item in batch.items]


@routes.patch("/{item_id}", responses=NOT_FOUND | CONFLICT)
async def update_item(item_id: ItemId, body: ItemUpdate, items: Items) -> Item:
    item = await items.update(item_id, body)
    if item is None:
        raise not_found(item_id)
    return item


@routes.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(item_id: ItemId, items: Items) -> Response:
    if not await items.delete(item_id):
        raise not_found(item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
