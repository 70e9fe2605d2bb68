"""The database stops answering, as a hung host or a paused VM does, while its TCP connections
stay open: every request that waits on it is answered 503 within DB_STATEMENT_TIMEOUT plus the
client's small margin, never for as long as the freeze lasts, and the service recovers by itself
once the server answers again.

The tests freeze a server of their own (SIGSTOP of its processes), never TEST_DATABASE_URL's.
"""

import asyncio
import time

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.database.embedded import PostgresServer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.web.errors import OUTCOME_UNKNOWN, UNAVAILABLE

from .conftest import PROBE_TIMEOUT, make_settings, serve, timed
from .postgres import (
    eventually,
    frozen,
    psql,
    sessions_waiting_for_a_lock,
    table_locked,
    wait_for,
)

# Time the test itself may add to an answer (the machine may be busy).
SLACK = 1.5
# Past this the test stops waiting, and thaws the server: a wait with no bound fails, not hangs.
GIVE_UP = 30


@pytest.fixture
def settings(own_database_url: str) -> Settings:
    """For the app on the module's own server, with its items emptied: the server outlives a
    test."""
    psql(own_database_url, "TRUNCATE items RESTART IDENTITY")
    return make_settings(
        own_database_url,
{%- if cookiecutter.connection_strategy != "per_request" %}
        db_pool_min_size=2,
        db_pool_max_size=2,
        db_pool_timeout=1,
{%- endif %}
        db_connect_timeout=2,
        db_statement_timeout=3,
    )


def longest_wait(settings: Settings) -> float:
    """The longest a request may wait on a server that does not answer: for the server's answer
    on a connection it holds, {% if cookiecutter.connection_strategy == "per_request" %}or for a new connection{% else %}for a free connection, or for a new one{% endif %}."""
    return max(
        settings.db_client_timeout,
{%- if cookiecutter.connection_strategy != "per_request" %}
        settings.db_pool_timeout + settings.db_connect_timeout,
{%- else %}
        settings.db_connect_timeout,
{%- endif %}
    )


def assert_503_within(
    answers: list[tuple[Response, float]], bound: float, detail: str = UNAVAILABLE
) -> None:
    for response, took in answers:
        request = f"{response.request.method} {response.request.url.path}"
        assert response.status_code == 503, (request, response.status_code, response.text)
        assert response.json() == {"detail": detail}, request
        assert response.headers["Retry-After"], request
        assert took < bound, (request, took)


async def assert_recovers(client: AsyncClient) -> None:
    """Ready again soon after the server is, and serving reads and writes."""
    back = time.monotonic()
    while (await client.get("/health/ready")).status_code != 200:
        assert time.monotonic() - back < 10, "the service did not recover"
        await asyncio.sleep(0.1)
    assert (await client.post("/items", json={"name": "after"})).status_code == 201
    assert (await client.get("/items")).status_code == 200


def stored_names(database_url: str) -> set[str]:
    return set(psql(database_url, "SELECT name FROM items").splitlines())


async def test_requests_sent_to_a_frozen_server_get_503_within_the_bound(
    own_server: PostgresServer, own_database_url: str, settings: Settings
) -> None:
    async with serve(settings) as client:
        item = (await client.post("/items", json={"name": "before"})).json()

        with frozen(own_server):
{%- if cookiecutter.connection_strategy == "per_request" %}
            # Each opens a connection of its own: the kernel accepts it, the server never answers.
{%- else %}
            # More requests than the pool has connections: some use the connections it holds,
            # the others wait for one.
{%- endif %}
            requests = asyncio.gather(
                *(
                    timed(client, method, path, json=body)
                    for method, path, body in [
                        ("GET", "/health/ready", None),
                        ("GET", "/items", None),
                        ("GET", f"/items/{item['id']}", None),
                        ("POST", "/items", {"name": "during 1"}),
                        ("POST", "/items", {"name": "during 2"}),
                        ("PATCH", f"/items/{item['id']}", {"name": "during 3"}),
                        ("DELETE", f"/items/{item['id']}", None),
                        ("GET", "/health/ready", None),
                    ]
                )
            )
            answers = await asyncio.wait_for(requests, GIVE_UP)
            alive = await client.get("/health")

        assert_503_within(answers, longest_wait(settings) + SLACK)
        readiness = [took for response, took in answers if response.url.path == "/health/ready"]
        assert max(readiness) < PROBE_TIMEOUT + SLACK, "readiness waited on the frozen server"
        assert alive.status_code == 200
        await assert_recovers(client)

    assert stored_names(own_database_url) == {"before", "after"}


async def test_requests_in_flight_when_the_server_freezes_get_503_within_the_bound(
    own_server: PostgresServer, own_database_url: str, settings: Settings
) -> None:
    async with serve(settings) as client:
        item = (await client.post("/items", json={"name": "before"})).json()

        with table_locked(own_database_url, seconds=60):
            # Each holds a connection whose statement waits for the lock, until the server
            # would cancel it at DB_STATEMENT_TIMEOUT; the server freezes before it can.
            in_flight = [
                asyncio.create_task(timed(client, "GET", f"/items/{item['id']}")),
                asyncio.create_task(timed(client, "POST", "/items", json={"name": "during"})),
            ]
            await eventually(
                lambda: sessions_waiting_for_a_lock(own_database_url) == 2,
                what="both requests to wait for the lock",
            )
            with frozen(own_server):
                answers = await asyncio.wait_for(asyncio.gather(*in_flight), GIVE_UP)

        read, write = answers
        assert_503_within([read], settings.db_client_timeout + SLACK)
        # Sent in autocommit, the write might have been committed before the server froze.
        assert_503_within([write], settings.db_client_timeout + SLACK, OUTCOME_UNKNOWN)
        await assert_recovers(client)

    # Its outcome is unknown indeed: cancelled at the server's statement timeout once it woke,
    # or stored, when the lock went first (where the server's timeout is longer than the app's).
    wait_for(
        lambda: sessions_waiting_for_a_lock(own_database_url) == 0,
        what="the abandoned statements to end",
    )
    assert {"before", "after"} <= stored_names(own_database_url) <= {"before", "during", "after"}
