"""A request's writes are one transaction, committed before the response is sent: a write of
one statement in autocommit, several in a unit of work."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from httpx import AsyncClient

from .postgres import at_commit, psql, wait_for

# Seconds each commit is held, long enough to be seen from another session.
HELD = 1


@contextmanager
def names_refused_at_commit(database_url: str) -> Iterator[None]:
    """Every commit that wrote to items fails on the name's unique key, as a deferred unique
    constraint would. For a write of one statement in autocommit, the failure comes with the
    statement's answer."""
    with at_commit(
        database_url,
        "RAISE EXCEPTION 'refused at commit' "
        "USING ERRCODE = 'unique_violation', CONSTRAINT = 'items_name_key';",
    ):
        yield


async def test_a_failed_commit_is_not_answered_2xx_and_leaves_nothing(
    client: AsyncClient, database_url: str
) -> None:
    item = (await client.post("/items", json={"name": "lamp"})).json()

    with names_refused_at_commit(database_url):
        created = await client.post("/items", json={"name": "desk"})
        patched = await client.patch(f"/items/{item['id']}", json={"name": "light"})
        deleted = await client.delete(f"/items/{item['id']}")
        batch = await client.post("/items/batch", json={"items": [{"name": "chair"}]})

    answers = [created, patched, deleted, batch]
    assert [response.status_code for response in answers] == [409] * 4
    assert psql(database_url, "SELECT name FROM items") == "lamp"


async def test_what_is_answered_201_is_visible_to_other_sessions(
    client: AsyncClient, database_url: str
) -> None:
    for number in range(20):
        response = await client.post("/items", json={"name": f"item {number}"})
        assert response.status_code == 201
        item_id = response.json()["id"]
        assert psql(database_url, f"SELECT count(*) FROM items WHERE id = {item_id}") == "1"


def held_commit(database_url: str) -> str:
    """The statement of the session whose commit is held (its deferred check sleeps)."""
    held: list[str] = []

    def found() -> bool:
        held[:] = psql(
            database_url,
            "SELECT query FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            "AND datname = current_database() AND pid <> pg_backend_pid()",
        ).splitlines()
        return bool(held)

    wait_for(found, what="a commit to be held")
    return held[0].split()[0].rstrip(";").upper()


{% if cookiecutter.db_driver == "sqlalchemy_async" and cookiecutter.connection_strategy == "pgbouncer" -%}
async def test_a_write_of_one_statement_commits_before_it_is_answered(
    client: AsyncClient, database_url: str
) -> None:
    """Behind PgBouncer, SQLAlchemy's asyncpg dialect runs every statement in a transaction (see
    database/connections.py): a one-statement write ends with its COMMIT, before the answer, as
    a batch does."""
    item = (await client.post("/items", json={"name": "lamp"})).json()
    writes = [
        ("POST", "/items", {"name": "desk"}, "COMMIT"),
        ("PATCH", f"/items/{item['id']}", {"name": "light"}, "COMMIT"),
        ("DELETE", f"/items/{item['id']}", None, "COMMIT"),
{%- else -%}
async def test_a_write_of_one_statement_commits_as_it_runs(
    client: AsyncClient, database_url: str
) -> None:
    """A one-statement write is its own transaction (autocommit): no BEGIN before it, no COMMIT
    after it, two round trips spared. Its commit is the statement's end: while that commit is
    held, the session still runs the write itself. A batch, several statements, ends with its
    COMMIT."""
    item = (await client.post("/items", json={"name": "lamp"})).json()
    writes = [
        ("POST", "/items", {"name": "desk"}, "INSERT"),
        ("PATCH", f"/items/{item['id']}", {"name": "light"}, "UPDATE"),
        ("DELETE", f"/items/{item['id']}", None, "DELETE"),
{%- endif %}
        ("POST", "/items/batch", {"items": [{"name": "chair"}, {"name": "shelf"}]}, "COMMIT"),
    ]
    with at_commit(database_url, f"PERFORM pg_sleep({HELD});"):
        for method, path, body, committed_by in writes:
            request = asyncio.create_task(client.request(method, path, json=body))
            assert await asyncio.to_thread(held_commit, database_url) == committed_by, path
            assert (await request).is_success
