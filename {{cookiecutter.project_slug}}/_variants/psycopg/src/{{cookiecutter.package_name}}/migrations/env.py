"""Alembic environment: runs migrations over psycopg, the driver the app uses."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.migrate import url_to_migrate


def run_online() -> None:
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    engine = create_engine(
        url_to_migrate(context.config, "postgresql+psycopg"),
        poolclass=NullPool,
        # Through PgBouncer in transaction mode: no statements prepared on the server.
        connect_args={"prepare_threshold": None},
    )
{%- else %}
    engine = create_engine(url_to_migrate(context.config, "postgresql+psycopg"), poolclass=NullPool)
{%- endif %}
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not set up; run them against a database.")
run_online()
