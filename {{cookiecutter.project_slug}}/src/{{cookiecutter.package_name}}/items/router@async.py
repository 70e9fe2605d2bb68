"""CRUD on items, and batches of them. Every write commits before the endpoint returns, so before
the response is sent: a failed commit is never answered 2xx."""

from fastapi import APIRouter, Response, status

from ..database.dependencies import Work
from .dependencies import Items
from .errors import BATCH_CONFLICT, CONFLICT, NOT_FOUND, not_found, refuse_repeated_names
from .params import ItemId, Limit, Offset
from .repository import ItemRepository
from .schemas import Item, ItemBatch, ItemCreate, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


# A request is matched against the routes in the order they are declared, at a cost for each
# one it passes: the most frequent, reading an item and creating one, come first.
@router.get("/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: ItemId, items: Items) -> Item:
    item = await items.get(item_id)
    if item is None:
        raise not_found(item_id)
    return item


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_item(body: ItemCreate, items: Items) -> Item:
    return await items.create(body)


@router.get("")
async def list_items(items: Items, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
    """Items, newest first."""
    return await items.newest(limit=limit, offset=offset)


@router.post("/batch", status_code=status.HTTP_201_CREATED, responses=BATCH_CONFLICT)
async def create_items(batch: ItemBatch, work: Work) -> list[Item]:
    """All the items, in the order given, or none: one unit of work."""
    refuse_repeated_names(batch)
    async with work:
        items = ItemRepository(work)
        created = {item.name: await items.create(item) for item in batch.in_lock_order()}
    return [created[item.name] for item in batch.items]


@router.patch("/{item_id}", responses=NOT_FOUND | CONFLICT)
async def update_item(item_id: ItemId, body: ItemUpdate, items: Items) -> Item:
    item = await items.update(item_id, body)
    if item is None:
        raise not_found(item_id)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(item_id: ItemId, items: Items) -> Response:
    if not await items.delete(item_id):
        raise not_found(item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
