"""Liveness and readiness."""
{%- if cookiecutter.connection_strategy != "per_request" %}

import asyncio
import contextlib
from collections.abc import AsyncIterator
{%- endif %}
{%- if cookiecutter.db_driver == "sqlalchemy" and cookiecutter.connection_strategy != "per_request" %}

from fastapi.concurrency import run_in_threadpool
from httpx import AsyncClient
from sqlalchemy import text
{%- elif cookiecutter.db_driver == "sqlalchemy_async" and cookiecutter.connection_strategy != "per_request" %}

from httpx import AsyncClient
from sqlalchemy import text
{%- else %}

from httpx import AsyncClient
{%- endif %}
{%- if cookiecutter.connection_strategy != "per_request" %}

from {{ cookiecutter.package_name }}.database.core import Database, open_database
from {{ cookiecutter.package_name }}.database.dependencies import get_database
from {{ cookiecutter.package_name }}.database.errors import DatabaseUnavailable
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.web.errors import UNAVAILABLE

from .conftest import PROBE_TIMEOUT, serve, timed

# Time the test itself may add to an answer (the machine may be busy).
SLACK = 0.5
{%- endif %}


async def test_liveness_answers_ok(client: AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

{%- if cookiecutter.connection_strategy == "per_request" %}


async def test_readiness_reports_the_database(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "replica": {"status": "disabled"}}
{%- else %}


async def test_readiness_reports_the_database_and_pool(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["replica"] == {"status": "disabled"}
    pool = body["pool"]
    assert pool["in_use"] == 0
    assert pool["max_size"] == 4
    assert 1 <= pool["size"] <= 4
    assert pool["idle"] == pool["size"]
    # The figures the driver tells, and nothing it does not.
    assert set(pool) == {"size", "idle", "in_use", "min_size", "max_size"}{% if cookiecutter.db_driver in ["psycopg", "sqlalchemy"] %} | {"waiting"}{% endif %}


@contextlib.asynccontextmanager
async def borrowers(database: Database, count: int, hold: float) -> AsyncIterator[None]:
    """`count` tasks that borrow the pool's connections over and over, each time for a query of
    `hold` seconds, as requests do (a wait past DB_POOL_TIMEOUT, a 503, is tried again); the
    block starts once every connection is lent out, and ends once they have all come back."""
    stop = asyncio.Event()

    async def borrow() -> None:
        while not stop.is_set():
            with contextlib.suppress(DatabaseUnavailable):
{%- if cookiecutter.db_driver == "sqlalchemy" %}
                async with database.reserved_connection():
                    await run_in_threadpool(sleep_in_a_session, database, hold)
{%- else %}
                async with database.connection() as connection:
{%- if cookiecutter.db_driver == "asyncpg" %}
                    await connection.execute("SELECT pg_sleep($1)", hold)
{%- elif cookiecutter.db_driver == "psycopg" %}
                    await connection.execute("SELECT pg_sleep(%s)", [hold])
{%- elif cookiecutter.db_driver == "sqlalchemy_async" %}
                    await connection.execute(text("SELECT pg_sleep(:hold)"), {"hold": hold})
{%- else %}
                    await connection.execute("SELECT pg_sleep(:hold)", {"hold": hold})
{%- endif %}
{%- endif %}

    tasks = [asyncio.create_task(borrow()) for _ in range(count)]
    try:
        for _ in range(1000):
            if database.stats().in_use == database.stats().max_size:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the borrowers did not take every connection")
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)
{%- if cookiecutter.db_driver == "sqlalchemy" %}


def sleep_in_a_session(database: Database, seconds: float) -> None:
    with database.connection() as session:
        session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
{%- endif %}


@contextlib.asynccontextmanager
async def served_on(database: Database, settings: Settings) -> AsyncIterator[AsyncClient]:
    """The app, its endpoints using `database`, which the test borrows from too."""

    async def the_tests_database() -> Database:
        return database

    async with serve(settings, {get_database: the_tests_database}) as client:
        yield client


async def test_a_busy_pool_keeps_the_service_ready(settings: Settings) -> None:
    """Every connection lent out and ten times as many borrowers waiting, each for a query of
    0.3 s: the check would wait past DB_POOL_TIMEOUT for its turn, but connections come back with
    the database's answers meanwhile, so the service is ready within a second, busy in its
    figures."""
    async with (
        open_database(settings) as database,
        served_on(database, settings) as client,
        borrowers(database, count=10 * settings.db_pool_max_size, hold=0.3),
    ):
        response, took = await timed(client, "GET", "/health/ready")

    assert response.status_code == 200, response.text
    assert took < PROBE_TIMEOUT + SLACK
    pool = response.json()["pool"]
    assert pool["in_use"] == pool["max_size"] == settings.db_pool_max_size


async def test_a_pool_whose_connections_do_not_come_back_is_not_ready(settings: Settings) -> None:
    """Every connection lent out and none coming back for two seconds, as when the database
    stopped answering under load: 503 within a second."""
    async with (
        open_database(settings) as database,
        served_on(database, settings) as client,
        borrowers(database, count=settings.db_pool_max_size, hold=2),
    ):
        response, took = await timed(client, "GET", "/health/ready")

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": UNAVAILABLE}
    assert took < PROBE_TIMEOUT + SLACK
{%- endif %}
