"""Behind PgBouncer in transaction mode, server connections change hands between transactions:
concurrent requests must not depend on a server connection's session, nor leave state in it.
The statement timeout is PgBouncer's to set on its server connections (connect_query)."""

import asyncio
import time

{% if cookiecutter.db_driver in ["asyncpg", "databases"] -%}
from {{ cookiecutter.package_name }}.settings import Settings

{% endif -%}
from .conftest import STATEMENT_TIMEOUT, make_settings, serve
from .pgbouncer import pgbouncer_in_front_of{% if cookiecutter.db_driver in ["asyncpg", "databases"] %}, pgbouncer_version{% endif %}
from .postgres import psql, table_locked

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

{%- if cookiecutter.db_driver in ["asyncpg", "databases"] %}


async def statuses_of_reads_and_writes(settings: Settings) -> set[int]:
    """Clients at once, more than the pool: PgBouncer lends each transaction whichever server
    connection is free."""
    async with serve(settings) as client:

        async def one_client(number: int) -> list[int]:
            created = await client.post("/items", json={"name": f"item {number}"})
            return [created.status_code, (await client.get("/items?limit=5")).status_code]

        results = await asyncio.gather(*(one_client(number) for number in range(CLIENTS)))
    return {status for statuses in results for status in statuses}


async def test_the_default_statement_cache_suits_any_pgbouncer(database_url: str) -> None:
    """DB_STATEMENT_CACHE_SIZE=0 serves every request through any PgBouncer. With asyncpg's own
    cache (100), a PgBouncer before 1.21 fails requests: a statement prepared on one server
    connection is missing on the next, or another connection's under the same name."""
    pool = {"db_pool_min_size": 4, "db_pool_max_size": 4}

    default = make_settings(database_url, **pool)
    assert await statuses_of_reads_and_writes(default) == {200, 201}
    psql(database_url, "TRUNCATE items")
    cached = make_settings(database_url, db_statement_cache_size=100, **pool)
    if pgbouncer_version() < (1, 21):
        assert 500 in await statuses_of_reads_and_writes(cached)
{%- endif %}


async def test_pgbouncer_sets_the_statement_timeout_and_requests_change_no_session_setting(
    database_url: str,
) -> None:
    # That the app's DB_STATEMENT_TIMEOUT agrees with it, test_pool_budget.py checks.
    async with serve(make_settings(database_url)) as client:
        await asyncio.gather(*(client.get("/items") for _ in range(8)))
        assert (await client.post("/items", json={"name": "lamp"})).status_code == 201

    # Whichever server connection PgBouncer lends next, it has connect_query's timeout.
    assert {psql(database_url, "SHOW statement_timeout") for _ in range(8)} == {
        f"{STATEMENT_TIMEOUT:g}s"
    }


async def test_a_read_is_cancelled_by_the_server_at_pgbouncers_timeout(
    server_url: str, database_url: str
) -> None:
    # The app would give up only after 31 s: a quick 503 is the server's statement timeout,
    # which holds on a read although the app sends it in no transaction and sets nothing.
    with pgbouncer_in_front_of(server_url, statement_timeout=0.5) as bouncer:
        settings = make_settings(bouncer.url_for(database_url), db_statement_timeout=30)
        async with serve(settings) as client:
            with table_locked(database_url):
                started = time.monotonic()
                response = await client.get("/items")
                waited = time.monotonic() - started
            assert (await client.get("/items")).status_code == 200

    assert response.status_code == 503
    assert waited < 5, waited
