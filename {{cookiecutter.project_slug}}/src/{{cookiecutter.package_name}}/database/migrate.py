"""Apply the Alembic migrations: from code, and as ``python -m {{ cookiecutter.package_name }} migrate``.

``migrations/env.py`` connects twice. On one connection every run first takes a PostgreSQL
advisory lock (``hold_migration_lock``), so that replicas or jobs started together apply each
revision once: the first one migrates, the others wait for it, then find the database at head and
do nothing. On the other (``run_migrations``) each revision commits on its own, so that what one
revision locks is not held through the next (a constraint added ``NOT VALID`` is validated by a
later revision without blocking writes), and no statement waits long for a lock or runs unbounded.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError

from ..observability.logs import configure_logging
from ..settings import Settings, load_settings
from .urls import hide_password, with_scheme

SCRIPT_LOCATION = "{{ cookiecutter.package_name }}:migrations"

# The advisory lock's key: any 64-bit number, as long as nothing else on the server takes it.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"{{ cookiecutter.package_name }} migrations").digest()[:8], "big", signed=True
)

# What PostgreSQL says when a statement gave up waiting for a lock, or ran out of time.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

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
    lock_timeout: float
    statement_timeout: float


def migration_target(config: Config, scheme: str) -> MigrationTarget:
    """The database to migrate: the one given to `upgrade_to_head`, else MIGRATION_DATABASE_URL,
    else DATABASE_URL."""
    settings = Settings()
    url = config.attributes.get("database_url") or settings.url_to_migrate
    if not url:
        raise SystemExit("Set MIGRATION_DATABASE_URL or DATABASE_URL to the database to migrate.")
    return MigrationTarget(
        with_scheme(str(url), scheme),
        settings.db_connect_timeout,
        settings.migration_lock_timeout,
        settings.migration_statement_timeout,
    )


def hold_migration_lock(connection: Connection) -> None:
    """Wait until no other process is migrating this database, then hold the others off until
    this connection's transaction ends: call it on a connection that does nothing else, before the
    migrations' own connection reads the current revision, and close it after them.

    A transaction-level lock (`pg_advisory_xact_lock`): released when the transaction ends (or by
    the server, if the process dies), so it can never be left behind, and it holds through a
    pooler in transaction mode too, which keeps a transaction on one server connection.
    """
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def run_migrations(connection: Connection, /, target: MigrationTarget, **options: Any) -> None:
    """Apply the migrations on `connection`, each revision in a transaction of its own whose
    statements wait at most `target.lock_timeout` for a lock and run at most
    `target.statement_timeout` (0: no limit); `options` go to Alembic's `configure`."""

    def bound_the_waits(transaction_connection: Connection) -> None:
        # Transaction-local (set_config(..., true) is SET LOCAL), as each revision's transaction
        # may run on another server connection behind a pooler in transaction mode.
        transaction_connection.execute(
            text(
                "SELECT set_config('lock_timeout', :lock, true),"
                " set_config('statement_timeout', :statement, true)"
            ),
            {
                "lock": f"{round(target.lock_timeout * 1000)}ms",
                "statement": f"{round(target.statement_timeout * 1000)}ms",
            },
        )

    event.listen(connection, "begin", bound_the_waits)
    context.configure(connection=connection, transaction_per_migration=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def timed_out(error: DBAPIError) -> str | None:
    """What a migration ran out of time for, if that is why it failed."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate == LOCK_NOT_AVAILABLE:
        return "a lock on a table another transaction holds (MIGRATION_LOCK_TIMEOUT)"
    if sqlstate == QUERY_CANCELED:
        return "a statement to finish (MIGRATION_STATEMENT_TIMEOUT)"
    return None


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
    except DBAPIError as error:
        if waited_for := timed_out(error):
            raise SystemExit(
                f"migrate: gave up waiting for {waited_for}; the revisions before it are"
                " applied, that one is not: run migrate again"
            ) from None
        raise
    logger.info("the database is at the latest revision")
