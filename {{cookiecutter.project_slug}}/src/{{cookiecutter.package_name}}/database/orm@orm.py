"""The declarative base of every resource's ORM models: one metadata for Alembic to compare
with the database."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
