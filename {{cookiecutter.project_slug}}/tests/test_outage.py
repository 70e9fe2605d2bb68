"""The database goes away and comes back: quick 503s meanwhile, recovery without a restart.

These tests stop and start a server, so they run on an embedded PostgreSQL of their own even
when TEST_DATABASE_URL names another: a server the suite does not own is never stopped.
"""

import asyncio
import time

from {{ cookiecutter.package_name }}.database.embedded import PostgresServer

from .conftest import make_settings, serve, timed
from .postgres import start_embedded, stop_embedded

QUICK = 2.0  # seconds within which an outage must be answered


async def test_stopped_database_gives_quick_503s_then_recovers(
    own_server: PostgresServer, own_database_url: str
) -> None:
{%- if cookiecutter.connection_strategy == "per_request" %}
    settings = make_settings(own_database_url)
{%- else %}
    # A pool may wait for a connection up to its timeout before it answers 503: keep that short.
    settings = make_settings(own_database_url, db_pool_timeout=1.0)
{%- endif %}
    async with serve(settings) as client:
        assert (await client.get("/health/ready")).status_code == 200
        created = (await client.post("/items", json={"name": "before"})).json()

        await asyncio.to_thread(stop_embedded, own_server)
        try:
            for method, path, body in [
                ("GET", "/health/ready", None),
                ("GET", "/items", None),
                ("GET", f"/items/{created['id']}", None),
                ("POST", "/items", {"name": "during"}),
                ("PATCH", f"/items/{created['id']}", {"name": "during"}),
                ("DELETE", f"/items/{created['id']}", None),
                ("GET", "/health/ready", None),
            ]:
                response, took = await timed(client, method, path, json=body)
                assert response.status_code == 503, (method, path, response.text)
                assert response.headers["Retry-After"]
                assert response.json()["detail"]
                assert took < QUICK, (method, path, took)
            assert (await client.get("/health")).status_code == 200
        finally:
            await asyncio.to_thread(start_embedded, own_server)

        deadline = time.monotonic() + 10
        while (await client.get("/health/ready")).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
        assert (await client.get(f"/items/{created['id']}")).json() == created
        assert (await client.post("/items", json={"name": "after"})).status_code == 201
        names = [item["name"] for item in (await client.get("/items")).json()]
        assert names == ["after", "before"]
