"""A hand-written FastAPI app on encode/databases (an asyncpg pool underneath)."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import databases
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

COLUMNS = "id, name, description, created_at"

database = databases.Database(
    os.environ["DATABASE_URL"],
    min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
    max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
)


class ItemIn(BaseModel):
    name: str
    description: str | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await database.connect()
    try:
        yield
    finally:
        await database.disconnect()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def get_item(item_id: int) -> dict[str, object]:
    row = await database.fetch_one(f"SELECT {COLUMNS} FROM items WHERE id = :id", {"id": item_id})
    if row is None:
        raise HTTPException(404)
    return dict(row._mapping)


@app.post("/items", status_code=201)
async def create_item(item: ItemIn) -> dict[str, object]:
    row = await database.fetch_one(
        f"INSERT INTO items (name, description) VALUES (:name, :description) RETURNING {COLUMNS}",
        item.model_dump(),
    )
    assert row is not None
    return dict(row._mapping)


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_level=os.environ.get("LOG_LEVEL", "warning"),
    )
