"""Apply the Alembic migrations: from code, and as ``python -m {{ cookiecutter.package_name }} migrate``.

Every run takes a PostgreSQL advisory lock first (``lock_migrations``, from ``migrations/env.py``),
so that replicas or jobs started together apply each revision once: the first one migrates, the
others wait for it, then find the database at head and do nothing.
"""

import hashlib
import logging
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from ..observability.logs import configure_logging
from ..settings import Settings, load_settings
from .urls import hide_password, with_scheme

SCRIPT_LOCATION = "{{ cookiecutter.package_name }}:migrations"

# The advisory lock's key: any 64-bit number, as long as nothing else on the server takes it.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"{{ cookiecutter.package_name }} migrations").digest()[:8], "big", signed=True
)

logger = logging.getLogger(__name__)


class DatabaseUnreachable(Exception):
    """The database to migrate could not be connected to; the message says why, on one line."""

    def __init__(self, error: BaseException) -> None:
        reason = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper names the driver's
        super().__init__(" ".join(str(reason).split()))


@dataclass(frozen=True)
class MigrationTarget:
    url: str  # in the scheme the migrations' driver wants
    connect_timeout: float


def migration_target(config: Config, scheme: str) -> MigrationTarget:
    """The database to migrate: the one given to `upgrade_to_head`, else MIGRATION_DATABASE_URL,
    else DATABASE_URL."""
    settings = Settings()
    url = config.attributes.get("database_url") or settings.url_to_migrate
    if not url:
        raise SystemExit("Set MIGRATION_DATABASE_URL or DATABASE_URL to the database to migrate.")
    return MigrationTarget(with_scheme(str(url), scheme), settings.db_connect_timeout)


def lock_migrations(connection: Connection) -> None:
    """Wait until no other process is migrating this database, then hold it off until the
    transaction that applies the migrations ends.

    A transaction-level lock (`pg_advisory_xact_lock`), taken as the transaction's first
    statement, before Alembic reads the current revision: it is released by the commit or
    rollback (or by the server, if the connection dies), so it can never be left behind, and it
    holds through a pooler in transaction mode too, which keeps a transaction on one server
    connection.
    """
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade_to_head(database_url: str | None = None) -> None:
    """Migrate the database at `database_url` (by default, the one the settings name)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if database_url:
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def main() -> None:
    """``python -m {{ cookiecutter.package_name }} migrate``: one line and exit status 1 when the
    database cannot be reached."""
    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        upgrade_to_head()
    except DatabaseUnreachable as error:
        url = hide_password(settings.url_to_migrate)
        raise SystemExit(f"migrate: cannot reach {url}: {error}") from None
    logger.info("the database is at the latest revision")
