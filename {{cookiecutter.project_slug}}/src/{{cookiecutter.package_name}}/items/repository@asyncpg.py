"""SQL for items. Every value is a bound parameter.

Built on the database, each method borrows a connection for its one statement only (a write in
autocommit, committed before the method returns), so no connection is held while a request is
validated or answered. Built on a unit of work, every method runs on the unit's connection, in
its transaction.
"""

import asyncpg

from ..database.core import Database
from ..database.unit_of_work import UnitOfWork
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    async def create(self, item: ItemCreate) -> Item:
        async with self._db.write() as connection:
            try:
                row = await connection.fetchrow(
                    """
                    INSERT INTO items (name, description) VALUES ($1, $2)
                    RETURNING id, name, description, created_at
                    """,
                    item.name,
                    item.description,
                )
            except asyncpg.UniqueViolationError as error:
                raise NameTaken(item.name) from error
        assert row is not None
        return Item.model_validate(dict(row))

    async def newest(self, *, limit: int, offset: int) -> list[Item]:
        async with self._db.connection() as connection:
            rows = await connection.fetch(
                """
                SELECT id, name, description, created_at FROM items
                 ORDER BY created_at DESC, id DESC
                 LIMIT $1 OFFSET $2
                """,
                limit,
                offset,
            )
        return [Item.model_validate(dict(row)) for row in rows]

    async def get(self, item_id: int) -> Item | None:
        async with self._db.connection() as connection:
            row = await connection.fetchrow(
                "SELECT id, name, description, created_at FROM items WHERE id = $1",
                item_id,
            )
        return None if row is None else Item.model_validate(dict(row))

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        fields = changes.model_fields_set
        async with self._db.write() as connection:
            try:
                row = await connection.fetchrow(
                    """
                    UPDATE items
                       SET name = CASE WHEN $2 THEN $3 ELSE name END,
                           description = CASE WHEN $4 THEN $5 ELSE description END
                     WHERE id = $1
                    RETURNING id, name, description, created_at
                    """,
                    item_id,
                    "name" in fields,
                    changes.name,
                    "description" in fields,
                    changes.description,
                )
            except asyncpg.UniqueViolationError as error:
                raise NameTaken(changes.name or "") from error
        return None if row is None else Item.model_validate(dict(row))

    async def delete(self, item_id: int) -> bool:
        async with self._db.write() as connection:
            deleted = await connection.fetchval(
                "DELETE FROM items WHERE id = $1 RETURNING id", item_id
            )
        return deleted is not None
