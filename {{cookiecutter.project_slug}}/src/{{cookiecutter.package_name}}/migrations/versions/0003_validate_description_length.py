"""Check the rows written before 0002 against its limit on an item's description.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

VALIDATE CONSTRAINT scans the table under a lock (SHARE UPDATE EXCLUSIVE) that lets reads and
writes go on. A database migrated by an earlier version of the service may hold longer
descriptions: this revision then stops with PostgreSQL's "check constraint ... is violated by some
row", while 0002 keeps any new row within the limit. Shorten those rows (or raise the limit in
0002, in a new revision, and in the API) and run it again. Already validated, it does nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE items VALIDATE CONSTRAINT items_description_length")


def downgrade() -> None:
    pass  # a constraint cannot be made NOT VALID again; 0002's downgrade drops it
