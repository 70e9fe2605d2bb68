"""A hand-written FastAPI app on the async SQLAlchemy 2 ORM (AsyncSession) over asyncpg."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
        }


class ItemIn(BaseModel):
    name: str
    description: str | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(
        url, pool_size=int(os.environ.get("DB_POOL_MAX_SIZE", "10")), max_overflow=0
    )
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield
    finally:
        await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def get_item(item_id: int, request: Request) -> dict[str, object]:
    async with request.app.state.sessions() as session:
        item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(404)
    return item.as_dict()


@app.post("/items", status_code=201)
async def create_item(body: ItemIn, request: Request) -> dict[str, object]:
    async with request.app.state.sessions.begin() as session:
        item = Item(name=body.name, description=body.description)
        session.add(item)
    return item.as_dict()


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_level=os.environ.get("LOG_LEVEL", "warning"),
    )
