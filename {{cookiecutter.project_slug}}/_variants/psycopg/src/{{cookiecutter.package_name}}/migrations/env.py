"""Alembic environment: runs migrations over psycopg, the driver the app uses."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.urls import with_scheme


def database_url() -> str:
    url = (
        context.config.attributes.get("database_url") or Settings().database_url.get_secret_value()
    )
    if not url:
        raise SystemExit("DATABASE_URL is not set: say which database to migrate.")
    return with_scheme(str(url), "postgresql+psycopg")


def run_online() -> None:
    engine = create_engine(database_url(), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not set up; run them against a database.")
run_online()
