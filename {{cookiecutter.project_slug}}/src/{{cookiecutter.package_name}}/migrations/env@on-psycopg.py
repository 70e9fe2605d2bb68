{%- if cookiecutter.db_driver == "sqlalchemy" -%}
"""Alembic environment: runs migrations over psycopg, the driver the app uses, and compares
the ORM models with the database for ``alembic revision --autogenerate`` and ``alembic check``."""
{%- else -%}
"""Alembic environment: runs migrations over psycopg, the driver the app uses."""
{%- endif %}

import math
from contextlib import ExitStack

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

{% if cookiecutter.db_driver == "sqlalchemy" -%}
# Imports every resource's models, through the routers the app includes, so that Base.metadata
# holds every table: a resource's table is never taken for one to drop.
import {{ cookiecutter.package_name }}.app  # noqa: F401
{% endif -%}
from {{ cookiecutter.package_name }}.database.migrate import (
    DatabaseUnreachable,
    hold_migration_lock,
    migration_target,
    run_migrations,
)
{%- if cookiecutter.db_driver == "sqlalchemy" %}
from {{ cookiecutter.package_name }}.database.orm import Base
{%- endif %}


def run_online() -> None:
    target = migration_target(context.config, "postgresql+psycopg")
    engine = create_engine(
        target.url,
        poolclass=NullPool,
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
        # Through PgBouncer in transaction mode: no statements prepared on the server.
        connect_args={
            "connect_timeout": math.ceil(target.connect_timeout),
            "prepare_threshold": None,
        },
{%- else %}
        connect_args={"connect_timeout": math.ceil(target.connect_timeout)},
{%- endif %}
    )
    # Closed in reverse: the lock's transaction ends last, and then the next run may migrate.
    with ExitStack() as opened:
        try:
            lock = opened.enter_context(engine.connect())
            connection = opened.enter_context(engine.connect())
        except DBAPIError as error:
            raise DatabaseUnreachable(error) from error
        hold_migration_lock(lock)
{%- if cookiecutter.db_driver == "sqlalchemy" %}
        run_migrations(
            connection, target, target_metadata=Base.metadata, compare_server_default=True
        )
{%- else %}
        run_migrations(connection, target)
{%- endif %}
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not set up; run them against a database.")
run_online()
