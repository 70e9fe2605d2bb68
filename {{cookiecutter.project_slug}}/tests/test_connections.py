"""Connections are given back on every path; waiting is bounded and answered 503."""

import asyncio
import time

from httpx import AsyncClient

from {{ cookiecutter.package_name }}.database.migrate import upgrade_to_head

from .conftest import APPLICATION_NAME, make_settings, serve
{%- if cookiecutter.connection_strategy == "per_request" %}
from .postgres import connections_of, eventually, psql, role_without_connections, table_locked
{%- else %}
from .postgres import connections_of, psql, table_locked
{%- endif %}


async def failing_and_succeeding_requests(client: AsyncClient, database_url: str) -> None:
    """Every kind of answer the items API gives, each path once."""
    item = (await client.post("/items", json={"name": "lamp"})).json()
    assert (await client.post("/items", json={"name": "lamp"})).status_code == 409
    assert (await client.post("/items", json={"name": ""})).status_code == 422
    assert (await client.get("/items/424242")).status_code == 404
    assert (await client.patch("/items/424242", json={"name": "x"})).status_code == 404
    assert (await client.delete("/items/424242")).status_code == 404
    assert (await client.get(f"/items/{item['id']}")).status_code == 200
    assert (await client.get("/items")).status_code == 200
    assert (await client.delete(f"/items/{item['id']}")).status_code == 204
    assert psql(database_url, "SELECT count(*) FROM items") == "0"
{%- if cookiecutter.connection_strategy == "per_request" %}


async def test_no_connection_is_left_open(database_url: str) -> None:
    async with serve(make_settings(database_url)) as client:
        await failing_and_succeeding_requests(client, database_url)
        assert (await client.get("/health/ready")).status_code == 200

        # A closed connection's server process may take a moment to leave pg_stat_activity.
        await eventually(
            lambda: connections_of(database_url, APPLICATION_NAME) == [],
            what="the app's connections to close",
        )


async def test_refused_connection_answers_503(database_url: str) -> None:
    """The server turns a new connection away, as it does past max_connections."""
    with role_without_connections(database_url) as url:
        async with serve(make_settings(url)) as client:
            started = time.monotonic()
            response = await client.get("/items")
            waited = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "detail" in response.json()
    assert waited < 2, waited
{%- else %}


async def test_every_connection_is_given_back(database_url: str) -> None:
    settings = make_settings(
        database_url, db_pool_min_size=1, db_pool_max_size=2, db_pool_timeout=1
    )
    async with serve(settings) as client:
        for _ in range(5):  # more rounds than the pool has connections: a leak would starve it
            await failing_and_succeeding_requests(client, database_url)

        pool = (await client.get("/health/ready")).json()["pool"]
        states = connections_of(database_url, APPLICATION_NAME)

    assert pool["in_use"] == 0
    assert pool["idle"] == pool["size"] <= 2
    assert set(states) <= {"idle"}, f"connections left busy or in a transaction: {states}"


async def test_exhausted_pool_answers_503_after_the_pool_timeout(database_url: str) -> None:
    settings = make_settings(
        database_url, db_pool_min_size=1, db_pool_max_size=1, db_pool_timeout=0.5
    )
    async with serve(settings) as client:
        with table_locked(database_url):
            holder = asyncio.create_task(client.get("/items"))  # takes the only connection, waits
            await asyncio.sleep(0.2)
            started = time.monotonic()
            response = await client.get("/items/1")
            waited = time.monotonic() - started
        held = await holder

        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "detail" in response.json()
        assert 0.4 <= waited < 3, waited
        assert held.status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
{%- endif %}


async def test_statement_timeout_answers_503(database_url: str) -> None:
    settings = make_settings(database_url, db_statement_timeout=0.5)
    async with serve(settings) as client:
        with table_locked(database_url):
            started = time.monotonic()
            response = await client.get("/items")
            waited = time.monotonic() - started

        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert waited < 3, waited
        assert (await client.get("/items")).status_code == 200


async def test_a_url_with_libpq_parameters_serves_and_migrates(database_url: str) -> None:
    """DATABASE_URL as libpq and cloud providers write it, with ``sslmode``: the app's driver
    takes it, and so does the one the migrations run on."""
    url = f"{database_url}{'&' if '?' in database_url else '?'}sslmode=disable"

    # In a thread of its own: Alembic may run an event loop of its own.
    await asyncio.to_thread(upgrade_to_head, url)  # connects, finds the database at head
    async with serve(make_settings(url)) as client:
        created = await client.post("/items", json={"name": "lamp"})
        assert created.status_code == 201, created.text
        assert (await client.get(f"/items/{created.json()['id']}")).status_code == 200
