"""How the psycopg pool lives through server restarts: broken connections are checked out of
the way, and reconnection does not back off for longer than a request waits.

These tests stop and start a server, so they run on an embedded PostgreSQL of their own."""

import asyncio
import time

from {{ cookiecutter.package_name }}.embedded import PostgresServer

from .conftest import make_settings, serve
from .postgres import start_embedded, stop_embedded


async def test_no_request_fails_after_a_quick_restart(
    own_server: PostgresServer, own_database_url: str
) -> None:
    settings = make_settings(own_database_url, db_pool_min_size=2, db_pool_max_size=2)
    async with serve(settings) as client:
        created = (await client.post("/items", json={"name": "before"})).json()

        stop_embedded(own_server)
        start_embedded(own_server)

        # Every pooled connection is broken now; the check before each loan replaces them.
        for _ in range(4):
            response = await client.get(f"/items/{created['id']}")
            assert response.status_code == 200, response.text
        assert (await client.post("/items", json={"name": "after"})).status_code == 201


async def test_recovers_soon_after_a_long_outage(
    own_server: PostgresServer, own_database_url: str
) -> None:
    async with serve(make_settings(own_database_url, db_pool_timeout=0.5)) as client:
        stop_embedded(own_server)
        try:
            # Long enough that a backoff left to grow would wait 8 s before its next attempt.
            outage_ends = time.monotonic() + 8
            while time.monotonic() < outage_ends:
                assert (await client.get("/health/ready")).status_code == 503
        finally:
            start_embedded(own_server)

        back = time.monotonic()
        while (await client.get("/health/ready")).status_code != 200:
            assert time.monotonic() - back < 3, "the pool did not reconnect soon"
            await asyncio.sleep(0.05)
