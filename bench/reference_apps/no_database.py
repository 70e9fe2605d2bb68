"""The HTTP ceiling: the same routes as the other apps, answered without a database."""

import itertools
import os
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

CREATED_AT = datetime(2024, 1, 1, tzinfo=UTC)
ids = itertools.count(1)


class ItemIn(BaseModel):
    name: str
    description: str | None = None


app = FastAPI()


@app.get("/items/{item_id}")
async def get_item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "name": f"item-{item_id}", "description": None, "created_at": CREATED_AT}


@app.post("/items", status_code=201)
async def create_item(item: ItemIn) -> dict[str, object]:
    return {"id": next(ids), **item.model_dump(), "created_at": CREATED_AT}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_level=os.environ.get("LOG_LEVEL", "warning"),
    )
