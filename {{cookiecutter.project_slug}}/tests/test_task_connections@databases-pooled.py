"""databases lends each asyncio task its own connection, as a server serves each request in a
task of its own: concurrent requests never share one, and every task gives its connection back,
failed commits included."""

import asyncio
from collections.abc import Coroutine
from typing import Any

from httpx import Response

from .conftest import make_settings, serve
from .postgres import psql
from .test_transactions import names_refused_at_commit


async def in_own_task(request: Coroutine[Any, Any, Response]) -> Response:
    """A connection stuck to a task would be reused by its next request; a new task has none."""
    return await asyncio.create_task(request)


async def test_concurrent_requests_each_get_their_own_connection(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_min_size=1, db_pool_max_size=2)
    async with serve(settings) as client:
        created = await asyncio.gather(
            *(client.post("/items", json={"name": f"item {n}"}) for n in range(16))
        )
        listed = await asyncio.gather(*(client.get("/items?limit=100") for _ in range(16)))
        pool = (await client.get("/health/ready")).json()["pool"]

    assert [response.status_code for response in created] == [201] * 16
    assert [len(response.json()) for response in listed] == [16] * 16
    assert psql(database_url, "SELECT count(*) FROM items") == "16"
    assert pool["in_use"] == 0


async def test_failed_commits_give_their_connection_back(database_url: str) -> None:
    settings = make_settings(
        database_url, db_pool_min_size=1, db_pool_max_size=1, db_pool_timeout=1
    )
    async with serve(settings) as client:
        with names_refused_at_commit(database_url):
            for number in range(3):
                refused = await in_own_task(client.post("/items", json={"name": f"item {number}"}))
                assert refused.status_code == 409
        after = await in_own_task(client.post("/items", json={"name": "after"}))
        pool = (await in_own_task(client.get("/health/ready"))).json()["pool"]

    assert after.status_code == 201
    assert pool["in_use"] == 0
    assert psql(database_url, "SELECT name FROM items") == "after"
