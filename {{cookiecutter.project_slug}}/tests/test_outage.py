"""The database goes away and comes back: quick 503s meanwhile, recovery without a restart.

These tests stop and start a server, so they run on an embedded PostgreSQL of their own even
when TEST_DATABASE_URL names another: a server the suite does not own is never stopped.
"""

import time
from collections.abc import Iterator

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.embedded import PostgresServer, embedded_server
from {{ cookiecutter.package_name }}.migrate import upgrade_to_head

from .conftest import make_settings, serve
from .postgres import scratch_database, start_embedded, stop_embedded

QUICK = 2.0  # seconds within which an outage must be answered


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with embedded_server(tmp_path_factory.mktemp("outage") / "data", keep_data=False) as server:
        yield server


@pytest.fixture(scope="module")
def own_database_url(own_server: PostgresServer) -> Iterator[str]:
    with scratch_database(own_server.get_uri()) as url:
        upgrade_to_head(url)
        yield url


async def timed(
    client: AsyncClient, method: str, path: str, **kwargs: object
) -> tuple[Response, float]:
    started = time.monotonic()
    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


async def test_stopped_database_gives_quick_503s_then_recovers(
    own_server: PostgresServer, own_database_url: str
) -> None:
    # A pool may wait for a connection up to its timeout before it answers 503: keep that short.
    settings = make_settings(own_database_url, db_pool_timeout=1.0)
    async with serve(settings) as client:
        assert (await client.get("/health/ready")).status_code == 200
        created = (await client.post("/items", json={"name": "before"})).json()

        stop_embedded(own_server)
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
            start_embedded(own_server)

        deadline = time.monotonic() + 10
        while (await client.get("/health/ready")).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
        assert (await client.get(f"/items/{created['id']}")).json() == created
        assert (await client.post("/items", json={"name": "after"})).status_code == 201
        names = [item["name"] for item in (await client.get("/items")).json()]
        assert names == ["after", "before"]
