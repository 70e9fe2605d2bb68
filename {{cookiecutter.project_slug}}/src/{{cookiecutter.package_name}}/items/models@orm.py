"""The ORM mapping of the items table, as the migrations create it; Alembic compares the two."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..database.orm import Base
from .schemas import DESCRIPTION_MAX_LENGTH

NAME_KEY = "items_name_key"


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("name", name=NAME_KEY),
        CheckConstraint(
            f"char_length(description) <= {DESCRIPTION_MAX_LENGTH}",
            name="items_description_length",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Serves GET /items: newest first.
Index("items_created_at_id_idx", Item.created_at.desc(), Item.id.desc())
