"""Connections lost under the service's feet (backends terminated, a server restarted): a 503,
never a 500. A write answered 2xx is stored; a write answered with a plain 503 is not; a write
whose COMMIT got no answer is a 503 that says its outcome is unknown. The service replaces the
connections it lost by itself."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
from urllib.parse import urlsplit
{%- endif %}

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.database.embedded import PostgresServer
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.web.errors import OUTCOME_UNKNOWN, UNAVAILABLE

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .conftest import make_settings, migrated_database, serve
from .pgbouncer import pgbouncer_in_front_of
{% else -%}
from .conftest import make_settings, serve
{% endif -%}
from .postgres import (
    at_commit,
    eventually,
    other_backends,
    psql,
    start_embedded,
    stop_embedded,
    terminate_backends,
    wait_for,
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    with_database,
{%- endif %}
)

pytestmark = pytest.mark.slow  # backends terminated, a server restarted

WRITERS = 8
KILLS = 30
HELD_COMMIT = 60  # seconds: much longer than the test takes to end the COMMIT
{%- if cookiecutter.connection_strategy == "per_request" %}
CLIENTS = 4


def settings_for(database_url: str, **overrides: object) -> Settings:
    return make_settings(database_url, **overrides)
{%- else %}
POOL_SIZE = 4
CLIENTS = POOL_SIZE  # concurrent requests take every connection of the pool


def settings_for(database_url: str, **overrides: object) -> Settings:
    return make_settings(
        database_url, db_pool_min_size=POOL_SIZE, db_pool_max_size=POOL_SIZE, **overrides
    )
{%- endif %}


async def write_until(
    stop: asyncio.Event, client: AsyncClient, writer: int
) -> list[tuple[str, Response]]:
    """Create items one after the other until told to stop; each name with its answer. Each
    request runs in a task of its own, as a server runs them."""
    answers = []
    number = 0
    while not stop.is_set():
        name = f"writer {writer} item {number}"
        request = asyncio.create_task(client.post("/items", json={"name": name}))
        answers.append((name, await request))
        number += 1
    return answers


def assert_answered_503(response: Response, detail: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": detail}
    assert response.headers["Retry-After"]


async def assert_serves_everything(client: AsyncClient) -> None:
    """Concurrent requests, then as many one after the other."""
    together = await asyncio.gather(*(client.get("/items") for _ in range(CLIENTS)))
    one_by_one = [await client.get("/items") for _ in range(CLIENTS)]
    failed = [response.text for response in [*together, *one_by_one] if response.is_error]
    assert not failed
    assert (await client.get("/health/ready")).status_code == 200


def stored_names(database_url: str) -> set[str]:
    return set(psql(database_url, "SELECT name FROM items").splitlines())


async def test_backends_terminated_under_write_load_give_only_2xx_and_503(
    database_url: str,
) -> None:
    async with serve(settings_for(database_url)) as client:
        stop = asyncio.Event()
        writers = [asyncio.create_task(write_until(stop, client, n)) for n in range(WRITERS)]
        terminated = 0
        for _ in range(KILLS):
            await asyncio.sleep(0.05)
            terminated += await asyncio.to_thread(terminate_backends, database_url)
        stop.set()
        answers = [answer for writer in await asyncio.gather(*writers) for answer in writer]

        await assert_serves_everything(client)

    stored = stored_names(database_url)
    statuses = [response.status_code for _, response in answers]
    assert set(statuses) <= {201, 503}, statuses
    assert terminated
    assert 503 in statuses, "the load never met a terminated connection"
    for name, response in answers:
        if response.status_code == 201:
            assert name in stored, f"{name} was answered 201 but is not stored"
        elif response.json()["detail"] == UNAVAILABLE:
            assert name not in stored, f"{name} was answered a plain 503 but is stored"
        else:
            assert_answered_503(response, OUTCOME_UNKNOWN)


@contextmanager
def commits_held(database_url: str) -> Iterator[None]:
    """Every COMMIT that wrote to items runs for a long time, as one with slow deferred checks
    would."""
    with at_commit(database_url, f"PERFORM pg_sleep({HELD_COMMIT});"):
        yield
{%- if cookiecutter.connection_strategy == "pgbouncer" %}


@pytest.fixture
def commit_database(server_url: str) -> Iterator[tuple[str, str]]:
    """A database of its own, by two URLs: the app's, through a PgBouncer of its own whose server
    connections let a statement run for HELD_COMMIT seconds (the suite's PgBouncer cancels one
    at STATEMENT_TIMEOUT, and a held COMMIT must end when the test ends it, not before); and the
    test's own, to the server itself, so that its statements never queue behind the app's."""
    with (
        pgbouncer_in_front_of(server_url, statement_timeout=HELD_COMMIT) as bouncer,
        migrated_database(server_url, bouncer) as through_pgbouncer,
    ):
        name = urlsplit(through_pgbouncer).path.lstrip("/")
        yield through_pgbouncer, with_database(server_url, name)
{%- else %}


@pytest.fixture
def commit_database(database_url: str) -> tuple[str, str]:
    """The database by two URLs, the app's and the test's own: here the same."""
    return database_url, database_url
{%- endif %}


def terminate_held_commits(database_url: str) -> None:
    """End the session whose commit is held: a one-statement write's own, in autocommit, or a
    unit of work's COMMIT (its deferred check sleeps either way)."""
    committing = "state = 'active' AND wait_event = 'PgSleep'"
    wait_for(lambda: terminate_backends(database_url, committing) > 0, what="a commit to end")


async def test_a_connection_lost_during_commit_is_a_503_that_says_the_outcome_is_unknown(
    commit_database: tuple[str, str],
) -> None:
    app_url, database_url = commit_database
    # The statement timeout must not end the held COMMIT before the test does.
    async with serve(settings_for(app_url, db_statement_timeout=HELD_COMMIT)) as client:
        item = (await client.post("/items", json={"name": "lamp"})).json()
        with commits_held(database_url):
            for method, path, body in [
                ("POST", "/items", {"name": "desk"}),
                ("PATCH", f"/items/{item['id']}", {"name": "light"}),
                ("DELETE", f"/items/{item['id']}", None),
            ]:
                request = asyncio.create_task(client.request(method, path, json=body))
                await asyncio.to_thread(terminate_held_commits, database_url)
                assert_answered_503(await request, OUTCOME_UNKNOWN)

        assert (await client.post("/items", json={"name": "after"})).status_code == 201
        await assert_serves_everything(client)

    assert stored_names(database_url) == {"lamp", "after"}


async def test_connections_the_server_ended_fail_one_request_at_most(database_url: str) -> None:
    async with serve(settings_for(database_url)) as client:
        await assert_serves_everything(client){% if cookiecutter.connection_strategy != "per_request" %}  # opens every connection of the pool{% endif %}

        ended = other_backends(database_url)
        terminate_backends(database_url)
        # The pool may open new connections meanwhile: only the ended ones must be gone.
        await eventually(
            lambda: not ended & other_backends(database_url), what="the backends to end"
        )

        first = await client.get("/items")
        assert first.status_code in (200, 503), first.text
        await assert_serves_everything(client)


async def test_a_server_restart_fails_one_request_at_most(
    own_server: PostgresServer, own_database_url: str
) -> None:
    async with serve(settings_for(own_database_url)) as client:
        await assert_serves_everything(client)

        await asyncio.to_thread(stop_embedded, own_server)
        await asyncio.to_thread(start_embedded, own_server)

        first = await client.get("/items")
        assert first.status_code in (200, 503), first.text
        await assert_serves_everything(client)
