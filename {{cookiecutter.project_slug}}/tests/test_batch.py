"""POST /items/batch, a unit of work: a batch is stored whole, in one transaction, or not at all."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.database.core import open_database
from {{ cookiecutter.package_name }}.database.unit_of_work import UnitOfWork
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import APPLICATION_NAME, make_settings, serve
from .postgres import connections_of{% if cookiecutter.connection_strategy == "per_request" %}, eventually{% endif %}, psql
from .test_transactions import names_refused_at_commit


def batch(*names: str) -> dict[str, list[dict[str, str | None]]]:
    return {"items": [{"name": name, "description": f"about {name}"} for name in names]}


def stored_names(database_url: str) -> set[str]:
    return set(psql(database_url, "SELECT name FROM items").splitlines())


@contextmanager
def inserts_aborted_as_in_a_deadlock(database_url: str) -> Iterator[None]:
    """Every insert into items fails as when PostgreSQL ends a transaction to break a deadlock."""
    psql(
        database_url,
        """
        CREATE FUNCTION abort_as_in_a_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected';
        END $$;
        CREATE TRIGGER abort_as_in_a_deadlock BEFORE INSERT ON items
            FOR EACH ROW EXECUTE FUNCTION abort_as_in_a_deadlock();
        """,
    )
    try:
        yield
    finally:
        psql(
            database_url,
            "DROP TRIGGER abort_as_in_a_deadlock ON items; DROP FUNCTION abort_as_in_a_deadlock()",
        )


async def test_a_batch_is_stored_whole_and_answered_in_order(
    client: AsyncClient, database_url: str
) -> None:
    names = ["lamp", "desk", "chair", "bookshelf"]  # not in alphabetical order

    response = await client.post("/items/batch", json=batch(*names))

    assert response.status_code == 201, response.text
    created = response.json()
    assert [item["name"] for item in created] == names
    assert [item["description"] for item in created] == [f"about {name}" for name in names]
    assert stored_names(database_url) == set(names)
    for item in created:
        assert (await client.get(f"/items/{item['id']}")).json() == item


async def test_a_batch_of_the_largest_size_is_stored(
    client: AsyncClient, database_url: str
) -> None:
    response = await client.post("/items/batch", json=batch(*(f"item {n}" for n in range(100))))

    assert response.status_code == 201, response.text
    assert len(response.json()) == 100
    assert psql(database_url, "SELECT count(*) FROM items") == "100"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": []},
        batch(*(f"item {n}" for n in range(101))),
        {"items": "lamp"},
        {"items": [{"name": "lamp"}, {"name": ""}]},
        {"items": [{"name": "lamp"}, {"name": "desk", "unknown": 1}]},
        {"items": [{"name": "lamp"}], "unknown": 1},
    ],
    ids=[
        "no-items",
        "empty",
        "101-items",
        "not-a-list",
        "one-bad-item",
        "unknown-item-field",
        "unknown-field",
    ],
)
async def test_bad_batches_are_422_and_store_nothing(
    client: AsyncClient, database_url: str, body: dict[str, object]
) -> None:
    response = await client.post("/items/batch", json=body)

    assert response.status_code == 422
    assert psql(database_url, "SELECT count(*) FROM items") == "0"


async def test_the_schema_states_the_bounds(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    items = schema["components"]["schemas"]["ItemBatch"]["properties"]["items"]
    answers = schema["paths"]["/items/batch"]["post"]["responses"]
    assert (items["minItems"], items["maxItems"]) == (1, 100)
    assert {"201", "409", "422"} <= set(answers)


async def test_a_name_that_exists_fails_the_whole_batch(
    client: AsyncClient, database_url: str
) -> None:
    assert (await client.post("/items", json={"name": "item 3"})).status_code == 201

    # Inserted last: the two items before it were stored in the transaction, then rolled back.
    response = await client.post("/items/batch", json=batch("item 1", "item 2", "item 3"))

    assert response.status_code == 409
    assert "'item 3'" in response.json()["detail"]
    assert stored_names(database_url) == {"item 3"}


async def test_a_name_repeated_in_the_batch_is_409(client: AsyncClient, database_url: str) -> None:
    response = await client.post("/items/batch", json=batch("lamp", "desk", "lamp"))

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "'lamp'" in detail
    assert "batch" in detail
    assert psql(database_url, "SELECT count(*) FROM items") == "0"


async def test_a_failed_commit_is_not_answered_2xx_and_leaves_nothing(
    client: AsyncClient, database_url: str
) -> None:
    with names_refused_at_commit(database_url):
        refused = await client.post("/items/batch", json=batch("lamp", "desk", "chair"))

    assert refused.status_code == 409
    assert psql(database_url, "SELECT count(*) FROM items") == "0"
    retried = await client.post("/items/batch", json=batch("lamp", "desk", "chair"))
    assert retried.status_code == 201


async def test_concurrent_batches_sharing_names_are_each_all_or_nothing(
    settings: Settings, database_url: str
) -> None:
    shared = [f"shared {n}" for n in range(20)]
    batches = [
        # Half of them list the shared names the other way round: inserted in the order given,
        # two such batches would each wait for a name the other holds.
        batch(*(shared if number % 2 else shared[::-1]), *(f"own {number}.{n}" for n in range(3)))
        for number in range(8)
    ]
    async with serve(settings) as client:
        started = time.monotonic()
        responses = await asyncio.gather(*(client.post("/items/batch", json=b) for b in batches))
        took = time.monotonic() - started

    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [201] + [409] * 7, [response.text for response in responses]
    assert took < settings.db_statement_timeout, took
    winner = batches[statuses.index(201)]
    assert stored_names(database_url) == {item["name"] for item in winner["items"]}
    for response in responses:
        if response.status_code == 409:
            assert any(f"'{name}'" in response.json()["detail"] for name in shared)


async def test_a_transaction_ended_to_break_a_deadlock_is_503_to_retry(
    client: AsyncClient, database_url: str
) -> None:
    with inserts_aborted_as_in_a_deadlock(database_url):
        response = await client.post("/items/batch", json=batch("lamp", "desk"))

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert psql(database_url, "SELECT count(*) FROM items") == "0"


async def test_every_path_gives_its_connection_back(database_url: str) -> None:
{%- if cookiecutter.connection_strategy == "per_request" %}
    settings = make_settings(database_url)
{%- else %}
    # One connection: a path that kept it would starve every request after it.
    settings = make_settings(
        database_url, db_pool_min_size=1, db_pool_max_size=1, db_pool_timeout=1
    )
{%- endif %}
    async with serve(settings) as client:
        for round_ in range(3):
            names = [f"item {round_}.{n}" for n in range(3)]
            assert (await client.post("/items/batch", json=batch(*names))).status_code == 201
            taken = batch(f"another {round_}", names[0])  # fails after a first insert
            assert (await client.post("/items/batch", json=taken)).status_code == 409
            repeated = batch("again", "again")
            assert (await client.post("/items/batch", json=repeated)).status_code == 409
            assert (await client.post("/items/batch", json={"items": []})).status_code == 422
            with names_refused_at_commit(database_url):
                refused = await client.post("/items/batch", json=batch(f"refused {round_}"))
                assert refused.status_code == 409
{%- if cookiecutter.connection_strategy == "per_request" %}

        # A closed connection's server process may take a moment to leave pg_stat_activity.
        await eventually(
            lambda: connections_of(database_url, APPLICATION_NAME) == [],
            what="the app's connections to close",
        )
{%- else %}
        pool = (await client.get("/health/ready")).json()["pool"]
        states = connections_of(database_url, APPLICATION_NAME)

    assert pool["in_use"] == 0
    assert set(states) <= {"idle"}, f"connections left busy or in a transaction: {states}"
{%- endif %}
    assert psql(database_url, "SELECT count(*) FROM items") == "9"


async def test_a_unit_of_work_lends_its_connection_inside_its_block_only(
    settings: Settings,
) -> None:
    async with open_database(settings) as database:
        items = ItemRepository(UnitOfWork(database))

        with pytest.raises(RuntimeError, match="inside"):
            {% if cookiecutter.db_driver != "sqlalchemy" %}await {% endif %}items.get(1)
