"""Queries on items through the ORM. Every value is a bound parameter.

Built on the database, each method runs in a session of its own (writes: in a transaction,
committed before the method returns), so a connection is held only while the database works,
never while a request is validated or answered. Built on a unit of work, every method runs in the
unit's session, in its transaction.
"""

from psycopg.errors import UniqueViolation
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..database.core import Database
from ..database.unit_of_work import UnitOfWork
from . import models
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


class ItemRepository:
    def __init__(self, db: Database | UnitOfWork) -> None:
        self._db = db

    def create(self, item: ItemCreate) -> Item:
        with self._db.transaction() as session:
            row = models.Item(name=item.name, description=item.description)
            session.add(row)
            flush(session, name=item.name)  # INSERT ... RETURNING fills in id and created_at
            return Item.model_validate(row)

    def list(self, *, limit: int, offset: int) -> list[Item]:
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
        with self._db.transaction() as session:
            row = session.get(models.Item, item_id, with_for_update=True)
            if row is None:
                return None
            for field in changes.model_fields_set:
                setattr(row, field, getattr(changes, field))
            flush(session, name=row.name)
            return Item.model_validate(row)

    def delete(self, item_id: int) -> bool:
        with self._db.transaction() as session:
            deleted = session.scalar(
                delete(models.Item).where(models.Item.id == item_id).returning(models.Item.id)
            )
            return deleted is not None


def flush(session: Session, *, name: str) -> None:
    """Send the pending changes; a name that is taken becomes NameTaken."""
    try:
        session.flush()
    except IntegrityError as error:
        violation = error.orig
        if (
            isinstance(violation, UniqueViolation)
            and violation.diag.constraint_name == models.NAME_KEY
        ):
            raise NameTaken(name) from error
        raise
