"""CRUD on items, and batches of them. Every write commits before the endpoint returns, so before
the response is sent: a failed commit is never answered 2xx.
With a replica, a write's answer says where the primary's WAL is after it (X-Read-After), and
the one-statement reads (ReadOn) may be served by the replica (database/replica.py).

A session's I/O blocks, so each endpoint hands the repository's work, and only that, to AnyIO's
thread pool (`run_in_threadpool`). The endpoints themselves are async: FastAPI runs a plain `def`
endpoint in a worker thread, then validates its response in a second trip to the pool
(fastapi/fastapi#888), which under load queues behind every other request's work."""

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from ..database.dependencies import Work, tell_read_after
from ..database.replica import ReadOn
from ..database.unit_of_work import UnitOfWork
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
    item = await reads(lambda database: database.run(ItemRepository(database).get, item_id))
    if item is None:
        raise not_found(item_id)
    return item


@router.post("", status_code=status.HTTP_201_CREATED, responses=CONFLICT)
async def create_item(body: ItemCreate, items: Items, request: Request, response: Response) -> Item:
    item = await run_in_threadpool(items.create, body)
    await tell_read_after(request, response)
    return item


@router.get("")
async def list_items(reads: ReadOn, limit: Limit = 20, offset: Offset = 0) -> list[Item]:
    """Items, newest first."""
    return await reads(
        lambda database: database.run(ItemRepository(database).newest, limit=limit, offset=offset)
    )


@router.post("/batch", status_code=status.HTTP_201_CREATED, responses=BATCH_CONFLICT)
async def create_items(
    batch: ItemBatch, work: Work, request: Request, response: Response
) -> list[Item]:
    """All the items, in the order given, or none: one unit of work."""
    refuse_repeated_names(batch)
    created = await run_in_threadpool(create_all, work, batch)
    await tell_read_after(request, response)
    return created


def create_all(work: UnitOfWork, batch: ItemBatch) -> list[Item]:
    with work:
        items = ItemRepository(work)
        created = {item.name: items.create(item) for item in batch.in_lock_order()}
    return [created[item.name] for item in batch.items]


@router.patch("/{item_id}", responses=NOT_FOUND | CONFLICT)
async def update_item(
    item_id: ItemId, body: ItemUpdate, items: Items, request: Request, response: Response
) -> Item:
    item = await run_in_threadpool(items.update, item_id, body)
    if item is None:
        raise not_found(item_id)
    await tell_read_after(request, response)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(item_id: ItemId, items: Items, request: Request) -> Response:
    if not await run_in_threadpool(items.delete, item_id):
        raise not_found(item_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    await tell_read_after(request, response)
    return response
