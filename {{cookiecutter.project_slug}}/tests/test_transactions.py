"""A request's writes are one transaction, committed before the response is sent."""

from collections.abc import Iterator
from contextlib import contextmanager

from httpx import AsyncClient

from .postgres import at_commit, psql


@contextmanager
def commits_refused(database_url: str) -> Iterator[None]:
    """Every COMMIT that wrote to items fails, as one with a deferred constraint would."""
    with at_commit(
        database_url, "RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation';"
    ):
        yield


async def test_a_failed_commit_is_not_answered_2xx_and_leaves_nothing(
    client: AsyncClient, database_url: str
) -> None:
    with commits_refused(database_url):
        response = await client.post("/items", json={"name": "lamp"})

    assert response.status_code == 409
    assert psql(database_url, "SELECT count(*) FROM items") == "0"


async def test_failed_commits_of_updates_and_deletes_change_nothing(
    client: AsyncClient, database_url: str
) -> None:
    item = (await client.post("/items", json={"name": "lamp"})).json()

    with commits_refused(database_url):
        patched = await client.patch(f"/items/{item['id']}", json={"name": "light"})
        deleted = await client.delete(f"/items/{item['id']}")

    assert (patched.status_code, deleted.status_code) == (409, 409)
    assert psql(database_url, "SELECT name FROM items") == "lamp"


async def test_what_is_answered_201_is_visible_to_other_sessions(
    client: AsyncClient, database_url: str
) -> None:
    for number in range(20):
        response = await client.post("/items", json={"name": f"item {number}"})
        assert response.status_code == 201
        item_id = response.json()["id"]
        assert psql(database_url, f"SELECT count(*) FROM items WHERE id = {item_id}") == "1"
