"""CRUD on items, and batches of them. Every write commits before the endpoint returns, so before
the response is sent: a failed commit is never answered 2xx.
With a replica, a write's answer says where the primary's WAL is after it (X-Read-After), and
the one-statement reads (ReadOn) may be served by the replica (database/replica.py)."""

from fastapi import APIRouter, Request, Response, status

from ..database.dependencies import Work, tell_read_after
from ..database.replica import ReadOn
from .dependencies import Items
from .errors import BATCH_CONFLICT, CONFLICT, NOT_FOUND, not_found, refuse_repeated_names
from .params import ItemId, Limit, Offset
from .repository import ItemRepository
from .schemas import Item, ItemBatch, ItemCreate, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])


# A request is matched against the routes in the order they are declared, at a cost for each
# one it passes: the most frequent, reading an item and creating one, come first.
@router.get("/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: ItemId, reads: ReadOn) -> Item:
    item = await reads(lambda database: ItemRepository(database).get(item_id))
    if item is None:
        raise not_found(item_id)
    return item


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_item(body: ItemCreate, items: Items, request: Request, response: Response) -> Item:
    item = await items.create(body)
    await tell_read_after(request, response)
    return item


@router.get("")
async def list_items(reads: ReadOn, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
    """Items, newest first."""
    return await reads(lambda database: ItemRepository(database).newest(limit=limit, offset=offset))


@router.post("/batch", status_code=status.HTTP_201_CREATED, responses=BATCH_CONFLICT)
async def create_items(
    batch: ItemBatch, work: Work, request: Request, response: Response
) -> list[Item]:
    """All the items, in the order given, or none: one unit of work."""
    refuse_repeated_names(batch)
    async with work:
        items = ItemRepository(work)
        created = {item.name: await items.create(item) for item in batch.in_lock_order()}
    await tell_read_after(request, response)
    return [created[item.name] for item in batch.items]


@router.patch("/{item_id}", responses=NOT_FOUND | CONFLICT)
async def update_item(
    item_id: ItemId, body: ItemUpdate, items: Items, request: Request, response: Response
) -> Item:
    item = await items.update(item_id, body)
    if item is None:
        raise not_found(item_id)
    await tell_read_after(request, response)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(item_id: ItemId, items: Items, request: Request) -> Response:
    if not await items.delete(item_id):
        raise not_found(item_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    await tell_read_after(request, response)
    return response
