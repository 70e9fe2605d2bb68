"""Queries on items through the ORM. Every value is a bound parameter."""

from psycopg.errors import UniqueViolation
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import models
from .errors import NameTaken
from .schemas import Item, ItemCreate, ItemUpdate


class ItemRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, item: ItemCreate) -> Item:
        row = models.Item(name=item.name, description=item.description)
        self._session.add(row)
        self._flush(name=item.name)  # INSERT ... RETURNING fills in id and created_at
        return Item.model_validate(row)

    def list(self, *, limit: int, offset: int) -> list[Item]:
        rows = self._session.scalars(
            select(models.Item)
            .order_by(models.Item.created_at.desc(), models.Item.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [Item.model_validate(row) for row in rows]

    def get(self, item_id: int) -> Item | None:
        row = self._session.get(models.Item, item_id)
        return None if row is None else Item.model_validate(row)

    def update(self, item_id: int, changes: ItemUpdate) -> Item | None:
        row = self._session.get(models.Item, item_id, with_for_update=True)
        if row is None:
            return None
        for field, value in changes.model_dump(exclude_unset=True).items():
            setattr(row, field, value)
        self._flush(name=row.name)
        return Item.model_validate(row)

    def delete(self, item_id: int) -> bool:
        deleted = self._session.scalar(
            delete(models.Item).where(models.Item.id == item_id).returning(models.Item.id)
        )
        return deleted is not None

    def _flush(self, *, name: str) -> None:
        try:
            self._session.flush()
        except IntegrityError as error:
            violation = error.orig
            if (
                isinstance(violation, UniqueViolation)
                and violation.diag.constraint_name == models.NAME_KEY
            ):
                raise NameTaken(name) from error
            raise
