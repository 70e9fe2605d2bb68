{%- if cookiecutter.db_driver == "sqlalchemy_async" -%}
"""Alembic environment: runs migrations over asyncpg, the driver the app uses, and compares the
ORM models with the database for ``alembic revision --autogenerate`` and ``alembic check``."""
{%- else -%}
"""Alembic environment: runs migrations over asyncpg, the driver the app uses."""
{%- endif %}

import asyncio
from contextlib import AsyncExitStack
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
from uuid import uuid4
{%- endif %}

from alembic import context
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

{% if cookiecutter.db_driver == "sqlalchemy_async" -%}
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
{%- if cookiecutter.db_driver == "sqlalchemy_async" %}
from {{ cookiecutter.package_name }}.database.orm import Base
{%- endif %}


async def run_online() -> None:
    target = migration_target(context.config, "postgresql+asyncpg")
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    engine = create_async_engine(
        target.url,
        poolclass=NullPool,
        # Through PgBouncer in transaction mode, where server connections change hands: SQLAlchemy
        # prepares every statement under a name, so each name must be new (no clash with one a
        # server connection already holds), and nothing is cached.
        connect_args={
            "timeout": target.connect_timeout,
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__alembic_{uuid4().hex}__",
        },
    )
{%- else %}
    engine = create_async_engine(
        target.url, poolclass=NullPool, connect_args={"timeout": target.connect_timeout}
    )
{%- endif %}
    # Closed in reverse: the lock's transaction ends last, and then the next run may migrate.
    async with AsyncExitStack() as opened:
        opened.push_async_callback(engine.dispose)
        try:
            lock = await opened.enter_async_context(engine.connect())
            connection = await opened.enter_async_context(engine.connect())
        except (DBAPIError, OSError) as error:
            raise DatabaseUnreachable(error) from error
        await lock.run_sync(hold_migration_lock)
{%- if cookiecutter.db_driver == "sqlalchemy_async" %}
        await connection.run_sync(
            run_migrations, target, target_metadata=Base.metadata, compare_server_default=True
        )
{%- else %}
        await connection.run_sync(run_migrations, target)
{%- endif %}


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not set up; run them against a database.")
asyncio.run(run_online())
