"""Queries on items through the ORM, on AsyncSession. Every value is a bound parameter.

Built on the database, each method runs in a session of its own for its one statement (a write
in autocommit, committed before the method returns), so a connection is held only while the
database works, never while a request is validated or answered. Built on a unit of work, every
method runs in the unit's session, in its transaction.

Nothing is loaded lazily: a row is read whole by its statement, and turned into the answer's
model before the session closes (an attribute loaded later would need I/O that AsyncSession
refuses, MissingGreenlet).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..database.connections import asyncpg_error
from ..database.core import Database
from ..database.unit_of_work import UnitOfWork
from . import models
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    async def create(self, item: ItemCreate) -> Item:
        async with self._db.write() as session:
            with names_unique(item.name):
                row = models.Item(name=item.name, description=item.description)
                session.add(row)
                await session.flush()  # one INSERT ... RETURNING, which fills in id and created_at
            return Item.model_validate(row)

    async def newest(self, *, limit: int, offset: int) -> list[Item]:
        async with self._db.connection() as session:
            rows = await session.scalars(
                select(models.Item)
                .order_by(models.Item.created_at.desc(), models.Item.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [Item.model_validate(row) for row in rows]

    async def get(self, item_id: int) -> Item | None:
        async with self._db.connection() as session:
            row = await session.get(models.Item, item_id)
            return None if row is None else Item.model_validate(row)

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        values = {field: getattr(changes, field) for field in changes.model_fields_set}
        if not values:
            return await self.get(item_id)
        statement = (
            update(models.Item)
            .where(models.Item.id == item_id)
            .values(values)
            .returning(models.Item)
        )
        async with self._db.write() as session:
            with names_unique(changes.name or ""):
                row = (await session.scalars(statement)).one_or_none()
            return None if row is None else Item.model_validate(row)

    async def delete(self, item_id: int) -> bool:
        async with self._db.write() as session:
            deleted = await session.scalar(
                delete(models.Item).where(models.Item.id == item_id).returning(models.Item.id)
            )
            return deleted is not None


@contextmanager
def names_unique(name: str) -> Iterator[None]:
    """Around a statement that stores a name: one that is taken becomes NameTaken."""
    try:
        yield
    except IntegrityError as error:
        violation = asyncpg_error(error)
        if (
            isinstance(violation, asyncpg.UniqueViolationError)
            and violation.constraint_name == models.NAME_KEY
        ):
            raise NameTaken(name) from error
        raise
