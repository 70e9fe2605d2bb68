"""SQL for items. Every value is a bound parameter (``:name``).

Built on the database, each method borrows a connection for its one statement only (a write in
autocommit, committed before the method returns), so no connection is held while a request is
validated or answered. Built on a unit of work, every method runs on the unit's connection, in
its transaction.
"""

from collections.abc import Mapping
from typing import Any

import asyncpg
from databases.interfaces import Record

from ..database.core import Database
from ..database.unit_of_work import UnitOfWork
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


def to_item(row: Record) -> Item:
    columns: Mapping[str, Any] = row._mapping
    return Item.model_validate(dict(columns))


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    async def create(self, item: ItemCreate) -> Item:
        async with self._db.write() as connection:
            try:
                row = await connection.fetch_one(
                    """
                    INSERT INTO items (name, description) VALUES (:name, :description)
                    RETURNING id, name, description, created_at
                    """,
                    {"name": item.name, "description": item.description},
                )
            except asyncpg.UniqueViolationError as error:
                raise NameTaken(item.name) from error
        assert row is not None
        return to_item(row)

    async def newest(self, *, limit: int, offset: int) -> list[Item]:
        async with self._db.connection() as connection:
            rows = await connection.fetch_all(
                """
                SELECT id, name, description, created_at FROM items
                 ORDER BY created_at DESC, id DESC
                 LIMIT :limit OFFSET :offset
                """,
                {"limit": limit, "offset": offset},
            )
        return [to_item(row) for row in rows]

    async def get(self, item_id: int) -> Item | None:
        async with self._db.connection() as connection:
            row = await connection.fetch_one(
                "SELECT id, name, description, created_at FROM items WHERE id = :id",
                {"id": item_id},
            )
        return None if row is None else to_item(row)

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        fields = changes.model_fields_set
        async with self._db.write() as connection:
            try:
                row = await connection.fetch_one(
                    """
                    UPDATE items
                       SET name = CASE WHEN :set_name THEN :name ELSE name END,
                           description = CASE WHEN :set_description THEN :description
                                              ELSE description END
                     WHERE id = :id
                    RETURNING id, name, description, created_at
                    """,
                    {
                        "id": item_id,
                        "set_name": "name" in fields,
                        "name": changes.name,
                        "set_description": "description" in fields,
                        "description": changes.description,
                    },
                )
            except asyncpg.UniqueViolationError as error:
                raise NameTaken(changes.name or "") from error
        return None if row is None else to_item(row)

    async def delete(self, item_id: int) -> bool:
        async with self._db.write() as connection:
            deleted = await connection.fetch_val(
                "DELETE FROM items WHERE id = :id RETURNING id", {"id": item_id}
            )
        return deleted is not None
