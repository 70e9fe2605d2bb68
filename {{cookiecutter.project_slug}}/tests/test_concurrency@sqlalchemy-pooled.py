"""Far more clients than connections only wait: the endpoints' threads never starve the
requests that hold the pool's connections (fastapi#3205)."""

import asyncio

from httpx import AsyncClient, Response

from .conftest import APPLICATION_NAME, make_settings, serve
from .postgres import connections_of, eventually, psql, table_locked

CLIENTS = 100
POOL_SIZE = 5


async def mixed_request(client: AsyncClient, number: int) -> Response:
    match number % 4:
        case 0:
            return await client.post("/items", json={"name": f"item {number}"})
        case 1:
            return await client.get("/items")
        case 2:
            return await client.get("/health/ready")
        case _:
            return await client.patch("/items/1", json={"description": f"by {number}"})


async def test_a_hundred_clients_on_five_connections_all_succeed(database_url: str) -> None:
    settings = make_settings(
        database_url, db_pool_min_size=1, db_pool_max_size=POOL_SIZE, db_pool_timeout=60
    )
    async with serve(settings) as client:
        assert (await client.post("/items", json={"name": "first"})).status_code == 201
        # While the table is locked, every connection is held by a request that waits on it,
        # and the other requests queue for a connection.
        with table_locked(database_url, seconds=60):
            requests = asyncio.gather(*(mixed_request(client, n) for n in range(CLIENTS)))
            await eventually(
                lambda: connections_of(database_url, APPLICATION_NAME).count("active") == POOL_SIZE,
                what="every connection of the pool to be busy",
            )
            alive = await client.get("/health")
        responses = await asyncio.wait_for(requests, timeout=60)
        pool = (await client.get("/health/ready")).json()["pool"]

    failed = [
        (response.request.method, response.request.url.path, response.status_code)
        for response in responses
        if not response.is_success
    ]
    assert not failed
    assert alive.status_code == 200
    assert pool["in_use"] == 0
    assert pool["size"] <= POOL_SIZE
    assert psql(database_url, "SELECT count(*) FROM items") == str(1 + CLIENTS // 4)
