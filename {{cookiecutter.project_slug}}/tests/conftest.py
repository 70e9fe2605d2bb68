"""Fixtures: a real PostgreSQL (TEST_DATABASE_URL's server, else an embedded one), a migrated
database of the suite's own on it, and the app served in-process with its real lifespan."""

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient, Response

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.database.embedded import PostgresServer
from {{ cookiecutter.package_name }}.database.migrate import SCRIPT_LOCATION, upgrade_to_head
from {{ cookiecutter.package_name }}.settings import Settings

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .pgbouncer import PgBouncer, pgbouncer_in_front_of
{% endif -%}
from .postgres import private_directory, psql, scratch_database, throwaway_server

APPLICATION_NAME = "{{ cookiecutter.project_slug }}"
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
# DB_STATEMENT_TIMEOUT in the tests' settings, and the one their PgBouncer sets (connect_query).
{%- else %}
# DB_STATEMENT_TIMEOUT in the tests' settings.
{%- endif %}
STATEMENT_TIMEOUT = 5.0
# Kubernetes gives a probe this long unless told otherwise: readiness answers within it.
PROBE_TIMEOUT = 1.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on a server of their own are marked `own_server`: a run against TEST_DATABASE_URL
    that has already run them on the embedded server may leave them out (`-m "not own_server"`).
    They stop, freeze or kill it, so they are `slow` too (`-m "not slow"` for a quick run)."""
    for item in items:
        if "own_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.own_server)
            item.add_marker(pytest.mark.slow)


def revisions() -> list[str]:
    """The migrations' revisions, oldest first."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    scripts = ScriptDirectory.from_config(config).walk_revisions()  # newest first
    return [script.revision for script in scripts][::-1]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server the suite may create databases on."""
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given:
        yield given
        return
    with throwaway_server() as server:
        yield server.get_uri()


{%- if cookiecutter.connection_strategy == "pgbouncer" %}


@pytest.fixture(scope="session")
def pgbouncer(server_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the server: the app reaches its database, and
    the migrations theirs, through it."""
    with pgbouncer_in_front_of(server_url, STATEMENT_TIMEOUT) as bouncer:
        yield bouncer


@contextmanager
def migrated_database(server_url: str, bouncer: PgBouncer) -> Iterator[str]:
    """A new database on the server, reached (and migrated) through PgBouncer; dropped after."""
    with scratch_database(server_url) as url:
        through_pgbouncer = bouncer.url_for(url)
        upgrade_to_head(through_pgbouncer)
        yield through_pgbouncer


@pytest.fixture(scope="session")
def database_url(server_url: str, pgbouncer: PgBouncer) -> Iterator[str]:
    with migrated_database(server_url, pgbouncer) as url:
        yield url
{%- else %}


@contextmanager
def migrated_database(server_url: str) -> Iterator[str]:
    """A new database on the server, migrated; dropped afterwards."""
    with scratch_database(server_url) as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    with migrated_database(server_url) as url:
        yield url
{%- endif %}


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server the tests may stop and start: never one the suite does not own."""
    with throwaway_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_database_url(own_server: PostgresServer) -> Iterator[str]:
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    """A database on the tests' own server, through a PgBouncer of its own."""
    with (
        pgbouncer_in_front_of(own_server.get_uri(), STATEMENT_TIMEOUT) as bouncer,
        migrated_database(own_server.get_uri(), bouncer) as url,
    ):
        yield url
{%- else %}
    with migrated_database(own_server.get_uri()) as url:
        yield url
{%- endif %}


# Every table of the app's (whatever resources it has), but Alembic's own, emptied.
EMPTY_EVERY_TABLE = """
DO $$ BEGIN
    EXECUTE (
        SELECT 'TRUNCATE ' || string_agg(format('%I', tablename), ', ') || ' RESTART IDENTITY'
          FROM pg_tables
         WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
    );
END $$
"""


@pytest.fixture(autouse=True)
def _empty_tables(database_url: str) -> None:
    psql(database_url, EMPTY_EVERY_TABLE)


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test: small and quick to time out, whatever the environment says."""
    values: dict[str, object] = {
        "database_url": database_url,
{%- if cookiecutter.connection_strategy != "per_request" %}
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "db_pool_timeout": 2.0,
{%- endif %}
        "db_connect_timeout": 2.0,
        "db_statement_timeout": STATEMENT_TIMEOUT,
    }
    values.update(overrides)
    return Settings.model_validate(values)  # validated as given, not read from the environment


@asynccontextmanager
async def serve(
    settings: Settings, dependency_overrides: dict[Any, Any] | None = None
) -> AsyncIterator[AsyncClient]:
    """The app with its lifespan run, and an HTTP client that calls it in-process."""
    app = create_app(settings)
    app.dependency_overrides.update(dependency_overrides or {})
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
        yield client


async def timed(
    client: AsyncClient, method: str, path: str, **kwargs: object
) -> tuple[Response, float]:
    started = time.monotonic()
    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncClient]:
    async with serve(settings) as client:
        yield client


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Where a service started by a test runs; its embedded PostgreSQL keeps .pgdata/ here."""
    with private_directory("service-") as directory:
        yield directory


@pytest.fixture
def project_dir() -> Path:
    return Path(__file__).resolve().parent.parent
