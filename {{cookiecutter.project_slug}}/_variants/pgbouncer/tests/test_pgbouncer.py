"""Behind PgBouncer in transaction mode, server connections change hands between transactions:
concurrent requests must not depend on a server connection's session, nor leave state in it."""

import asyncio

from .conftest import make_settings, serve
from .postgres import psql

CLIENTS = 24  # six times the app's pool: requests queue for it, and for PgBouncer's


async def test_concurrent_reads_and_writes_all_succeed(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_min_size=4, db_pool_max_size=4)
    async with serve(settings) as client:

        async def one_client(number: int) -> list[int]:
            statuses = []
            for round_ in range(5):
                created = await client.post("/items", json={"name": f"item {number}.{round_}"})
                statuses.append(created.status_code)
                item_id = created.json()["id"]
                statuses.append((await client.get(f"/items/{item_id}")).status_code)
                renamed = await client.patch(f"/items/{item_id}", json={"description": "seen"})
                statuses.append(renamed.status_code)
                statuses.append((await client.get("/items?limit=5")).status_code)
            return statuses

        results = await asyncio.gather(*(one_client(number) for number in range(CLIENTS)))

    assert {status for statuses in results for status in statuses} == {200, 201}
    assert psql(database_url, "SELECT count(*) FROM items WHERE description = 'seen'") == str(
        CLIENTS * 5
    )


async def test_requests_leave_no_session_settings_behind(database_url: str) -> None:
    default = psql(database_url, "SHOW statement_timeout")
    settings = make_settings(database_url, db_statement_timeout=1.5)
    async with serve(settings) as client:
        await asyncio.gather(*(client.get("/items") for _ in range(8)))
        assert (await client.post("/items", json={"name": "lamp"})).status_code == 201

    # Whichever server connection PgBouncer lends next, it has the server's default timeout:
    # the app's was set for its own transactions only.
    assert {psql(database_url, "SHOW statement_timeout") for _ in range(8)} == {default}
    assert default != "1500ms"
