"""SQL for items. Every value is a bound parameter.

Built on the database, each method borrows a connection for its one statement only (a write in
autocommit, committed before the method returns), so no connection is held while a request is
validated or answered. Built on a unit of work, every method runs on the unit's connection, in
its transaction.
"""

from psycopg import AsyncCursor
from psycopg.errors import UniqueViolation
from psycopg.rows import class_row

from ..database.core import Connection, Database
from ..database.unit_of_work import UnitOfWork
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


def items(connection: Connection) -> AsyncCursor[Item]:
    """A cursor that returns rows as `Item`s."""
    return connection.cursor(row_factory=class_row(Item))


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    async def create(self, item: ItemCreate) -> Item:
        async with self._db.write() as connection, items(connection) as cursor:
            try:
                await cursor.execute(
                    """
                    INSERT INTO items (name, description) VALUES (%s, %s)
                    RETURNING id, name, description, created_at
                    """,
                    (item.name, item.description),
                )
            except UniqueViolation as error:
                raise NameTaken(item.name) from error
            created = await cursor.fetchone()
        assert created is not None
        return created

    async def newest(self, *, limit: int, offset: int) -> list[Item]:
        async with self._db.connection() as connection, items(connection) as cursor:
            await cursor.execute(
                """
                SELECT id, name, description, created_at FROM items
                 ORDER BY created_at DESC, id DESC
                 LIMIT %s OFFSET %s
                """,
                (limit, offset),
            )
            return await cursor.fetchall()

    async def get(self, item_id: int) -> Item | None:
        async with self._db.connection() as connection, items(connection) as cursor:
            await cursor.execute(
                "SELECT id, name, description, created_at FROM items WHERE id = %s", (item_id,)
            )
            return await cursor.fetchone()

    async def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        fields = changes.model_fields_set
        async with self._db.write() as connection, items(connection) as cursor:
            try:
                await cursor.execute(
                    """
                    UPDATE items
                       SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE name END,
                           description = CASE WHEN %(set_description)s
                                              THEN %(description)s ELSE description END
                     WHERE id = %(id)s
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
            except UniqueViolation as error:
                raise NameTaken(changes.name or "") from error
            return await cursor.fetchone()

    async def delete(self, item_id: int) -> bool:
        async with self._db.write() as connection:
            cursor = await connection.execute(
                "DELETE FROM items WHERE id = %s RETURNING id", (item_id,)
            )
            return await cursor.fetchone() is not None
