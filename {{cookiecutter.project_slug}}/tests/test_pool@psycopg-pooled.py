"""How the psycopg pool lives through a long outage: reconnection does not back off for longer
than a request waits (a quick restart is in test_lost_connections.py).

This test stops and starts a server, so it runs on an embedded PostgreSQL of its own."""

import asyncio
import time

from {{ cookiecutter.package_name }}.database.embedded import PostgresServer

from .conftest import make_settings, serve
from .postgres import start_embedded, stop_embedded


async def test_recovers_soon_after_a_long_outage(
    own_server: PostgresServer, own_database_url: str
) -> None:
    async with serve(make_settings(own_database_url, db_pool_timeout=0.5)) as client:
        await asyncio.to_thread(stop_embedded, own_server)
        try:
            # Long enough that a backoff left to grow would wait 8 s before its next attempt.
            outage_ends = time.monotonic() + 8
            while time.monotonic() < outage_ends:
                assert (await client.get("/health/ready")).status_code == 503
        finally:
            await asyncio.to_thread(start_embedded, own_server)

        back = time.monotonic()
        while (await client.get("/health/ready")).status_code != 200:
            assert time.monotonic() - back < 3, "the pool did not reconnect soon"
            await asyncio.sleep(0.05)
