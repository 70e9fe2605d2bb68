"""Limit an item's description to 2,000 characters, as the API does: for new rows here, for
the rows already there in 0003.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Added NOT VALID, the constraint holds for every row written from now on and reads no existing
row, so the lock it takes on the table (ACCESS EXCLUSIVE, which blocks reads too) lasts a moment
instead of a scan of the whole table. 0003 then checks the existing rows, in a transaction of its
own that lets reads and writes go on.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint(
        "items_description_length",
        "items",
        "char_length(description) <= 2000",
        postgresql_not_valid=True,
    )


def downgrade() -> None:
    op.drop_constraint("items_description_length", "items", type_="check")
