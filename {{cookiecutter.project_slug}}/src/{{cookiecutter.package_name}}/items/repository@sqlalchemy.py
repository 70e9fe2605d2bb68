"""Queries on items through the ORM. Every value is a bound parameter.

Built on the database, each method runs in a session of its own for its one statement (a write
in autocommit, committed before the method returns), so a connection is held only while the
database works, never while a request is validated or answered. Built on a unit of work, every
method runs in the unit's session, in its transaction.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.errors import UniqueViolation
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..database.core import Database
from ..database.unit_of_work import UnitOfWork
from . import models
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    def create(self, item: ItemCreate) -> Item:
        with self._db.write() as session, names_unique(item.name):
            row = models.Item(name=item.name, description=item.description)
            session.add(row)
            session.flush()  # one INSERT ... RETURNING, which fills in id and created_at
            return Item.model_validate(row)

    def newest(self, *, limit: int, offset: int) -> list[Item]:
        with self._db.connection() as session:
            rows = session.scalars(
                select(models.Item)
                .order_by(models.Item.created_at.desc(), models.Item.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [Item.model_validate(row) for row in rows]

    def get(self, item_id: int) -> Item | None:
        with self._db.connection() as session:
            row = session.get(models.Item, item_id)
            return None if row is None else Item.model_validate(row)

    def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        values = {field: getattr(changes, field) for field in changes.model_fields_set}
        if not values:
            return self.get(item_id)
        statement = (
            update(models.Item)
            .where(models.Item.id == item_id)
            .values(values)
            .returning(models.Item)
        )
        with self._db.write() as session, names_unique(changes.name or ""):
            row = session.scalars(statement).one_or_none()
            return None if row is None else Item.model_validate(row)

    def delete(self, item_id: int) -> bool:
        with self._db.write() as session:
            deleted = session.scalar(
                delete(models.Item).where(models.Item.id == item_id).returning(models.Item.id)
            )
            return deleted is not None


@contextmanager
def names_unique(name: str) -> Iterator[None]:
    """Around a statement that stores a name: one that is taken becomes NameTaken."""
    try:
        yield
    except IntegrityError as error:
        violation = error.orig
        if (
            isinstance(violation, UniqueViolation)
            and violation.diag.constraint_name == models.NAME_KEY
        ):
            raise NameTaken(name) from error
        raise
