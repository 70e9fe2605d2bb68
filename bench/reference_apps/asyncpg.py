"""A hand-written FastAPI app on an asyncpg pool."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

COLUMNS = "id, name, description, created_at"


class ItemIn(BaseModel):
    name: str
    description: str | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with asyncpg.create_pool(
        os.environ["DATABASE_URL"],
        min_size=int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
        max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
    ) as pool:
        app.state.pool = pool
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def get_item(item_id: int, request: Request) -> dict[str, object]:
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow(f"SELECT {COLUMNS} FROM items WHERE id = $1", item_id)
    if row is None:
        raise HTTPException(404)
    return dict(row)


@app.post("/items", status_code=201)
async def create_item(item: ItemIn, request: Request) -> dict[str, object]:
    async with request.app.state.pool.acquire() as connection:
        row = await connection.fetchrow(
            f"INSERT INTO items (name, description) VALUES ($1, $2) RETURNING {COLUMNS}",
            item.name,
            item.description,
        )
    return dict(row)


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_level=os.environ.get("LOG_LEVEL", "warning"),
    )
