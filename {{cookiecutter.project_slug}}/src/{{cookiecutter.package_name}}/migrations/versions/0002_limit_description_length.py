"""Limit an item's description to 2,000 characters, as the API does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

A database migrated by an earlier version of the service may hold longer descriptions: this
revision then stops with PostgreSQL's "check constraint ... is violated by some row". Shorten
those rows (or raise the limit here and in the API) and run it again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint(
        "items_description_length", "items", "char_length(description) <= 2000"
    )


def downgrade() -> None:
    op.drop_constraint("items_description_length", "items", type_="check")
