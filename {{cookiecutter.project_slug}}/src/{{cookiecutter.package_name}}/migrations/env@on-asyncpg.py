"""Alembic environment: runs migrations over asyncpg, the driver the app uses."""

import asyncio
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
from uuid import uuid4
{%- endif %}

from alembic import context
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.database.migrate import (
    DatabaseUnreachable,
    hold_migration_lock,
    migration_target,
    run_migrations,
)


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
    try:
        lock = await engine.connect()
        connection = await engine.connect()
    except (DBAPIError, OSError) as error:
        raise DatabaseUnreachable(error) from error
    try:
        await lock.run_sync(hold_migration_lock)
        await connection.run_sync(run_migrations, target)
    finally:
        await connection.close()
        await lock.close()  # its transaction ends: the next run may migrate
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not set up; run them against a database.")
asyncio.run(run_online())
