"""Reads from a streaming replica, against a real one: made in the suite from the tests' own
server with pg_basebackup, and paused, stopped and promoted as operators and failures do.
Where a read was served is told by the servers' data, not by the app: with the replica's replay
paused, the primary has rows the replica has not."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.database.core import open_database
from {{ cookiecutter.package_name }}.database.embedded import PostgresServer
from {{ cookiecutter.package_name }}.database.replica import (
    READ_AFTER,
    ReplicaStatus,
    open_replica,
    parse_lsn,
)
from {{ cookiecutter.package_name }}.items.repository import ItemRepository
from {{ cookiecutter.package_name }}.items.schemas import ItemCreate

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .conftest import EMPTY_EVERY_TABLE, STATEMENT_TIMEOUT, make_settings, serve
from .pgbouncer import pgbouncer_in_front_of
{%- else -%}
from .conftest import EMPTY_EVERY_TABLE, make_settings, serve
{%- endif %}
from .postgres import (
    Standby,
    database_of,
    eventually,
    psql,
    replayed,
    streaming_replica,
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    with_database,
{%- endif %}
)

# Seconds of lag past which the tests' apps stop reading from the replica: short, so that a
# paused replica goes past it within a test, long enough for a busy machine's checks.
MAX_LAG = 2.0
# Seconds between the apps' checks of the replica: often, so that the tests need not wait.
CHECK_INTERVAL = 0.1
REPLICA_LOGGER = "{{ cookiecutter.package_name }}.database.replica"


@dataclass(frozen=True)
class Replicated:
    primary: str  # DATABASE_URL, as the app reaches it
    replica: str  # DATABASE_REPLICA_URL, likewise
    primary_direct: str  # the same databases, for the tests' own psql
    replica_direct: str
    standby: Standby


@contextmanager
def replica_of(server: PostgresServer, primary: str) -> Iterator[Replicated]:
    """A streaming replica of the server, and the primary's database (DATABASE_URL, migrated)
    on both.{% if cookiecutter.connection_strategy == "pgbouncer" %} The app reaches the replica through a PgBouncer of its own, as it does the
    primary.{% endif %}"""
    name = database_of(primary)
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    with (
        streaming_replica(server) as standby,
        pgbouncer_in_front_of(standby.url(), STATEMENT_TIMEOUT) as replica_bouncer,
    ):
        yield Replicated(
            primary,
            replica_bouncer.url_for(standby.url(name)),
            with_database(server.get_uri(), name),
            standby.url(name),
            standby,
        )
{%- else %}
    with streaming_replica(server) as standby:
        yield Replicated(primary, standby.url(name), primary, standby.url(name), standby)
{%- endif %}


@pytest.fixture(scope="module")
def replicated(own_server: PostgresServer, own_database_url: str) -> Iterator[Replicated]:
    with replica_of(own_server, own_database_url) as databases:
        yield databases


@pytest.fixture
def promotable(own_server: PostgresServer, own_database_url: str) -> Iterator[Replicated]:
    """A second replica: once promoted, it can never follow the primary again."""
    with replica_of(own_server, own_database_url) as databases:
        yield databases


@asynccontextmanager
async def app_reading_from(
    databases: Replicated, **overrides: object
) -> AsyncIterator[AsyncClient]:
    settings = make_settings(
        databases.primary,
        database_replica_url=databases.replica,
        db_replica_max_lag=MAX_LAG,
        db_replica_check_interval=CHECK_INTERVAL,
        **overrides,
    )
    psql(databases.primary_direct, EMPTY_EVERY_TABLE)
    async with serve(settings) as client:
        await replica_status_is(client, ReplicaStatus.OK)
        await caught_up(databases, client)  # with the tables emptied
        yield client


async def replica_status_is(client: AsyncClient, status: ReplicaStatus) -> None:
    """Wait (the checks run about once a second) until readiness reports the replica so."""

    async def status_now() -> str:
        response = await client.get("/health/ready")
        assert response.status_code == 200, response.text
        return str(response.json()["replica"]["status"])

    for _ in range(100):
        if await status_now() == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica is {await status_now()}, not {status}")


@contextmanager
def replay_paused(databases: Replicated) -> Iterator[None]:
    """The replica keeps receiving the primary's WAL but applies none of it, as a replica
    behind a long query or a slow disk does."""
    psql(databases.replica_direct, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        psql(databases.replica_direct, "SELECT pg_wal_replay_resume()")


async def caught_up(databases: Replicated, client: AsyncClient) -> None:
    """The replica has replayed all the primary has written, and the app's checks know it (it
    sends a read with a position to the replica only then)."""
    position = psql(databases.primary_direct, "SELECT pg_current_wal_lsn()")
    await eventually(
        lambda: replayed(databases.replica_direct, position), what="the replica to catch up"
    )
    for _ in range(100):
        replica = (await client.get("/health/ready")).json()["replica"]
        if parse_lsn(replica.get("replayed_lsn") or "0/0") >= parse_lsn(position):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the app's checks do not see the replica at {position}: {replica}")


async def create(client: AsyncClient, name: str) -> Response:
    response = await client.post("/items", json={"name": name})
    assert response.status_code == 201, response.text
    return response


def names(response: Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()]


async def test_a_write_tells_where_to_read_after_it_and_reads_go_to_the_replica(
    replicated: Replicated,
) -> None:
    async with app_reading_from(replicated) as client:
        first = await create(client, "first")
        position = first.headers[READ_AFTER]
        assert parse_lsn(position) > 0
        await caught_up(replicated, client)
        with replay_paused(replicated):
            await create(client, "second")

            # The replica has the first item only, the primary both: the list comes from the
            # replica, with or without the first write's position (replayed).
            assert names(await client.get("/items")) == ["first"]
            assert names(await client.get("/items", headers={READ_AFTER: position})) == ["first"]


async def test_a_read_with_a_writes_position_sees_the_write_while_the_replica_is_behind(
    replicated: Replicated,
) -> None:
    async with app_reading_from(replicated) as client:
        with replay_paused(replicated):
            written = await create(client, "read-your-writes")
            item = f"/items/{written.json()['id']}"
            position = written.headers[READ_AFTER]

            # Without the position the replica answers (within DB_REPLICA_MAX_LAG: stale).
            assert (await client.get(item)).status_code == 404
            # With it, the primary does, as the replica has not replayed that far.
            seen = await client.get(item, headers={READ_AFTER: position})
            assert seen.status_code == 200
            assert seen.json()["name"] == "read-your-writes"
            for answer in [
                await client.patch(item, json={"description": "changed"}),
                await client.delete(item),
            ]:
                assert answer.status_code in (200, 204), answer.text
                assert parse_lsn(answer.headers[READ_AFTER]) > parse_lsn(position)
        await caught_up(replicated, client)
        assert (await client.get(item, headers={READ_AFTER: position})).status_code == 404


async def test_a_batch_tells_where_to_read_after_it(replicated: Replicated) -> None:
    async with app_reading_from(replicated) as client:
        with replay_paused(replicated):
            response = await client.post(
                "/items/batch", json={"items": [{"name": "b1"}, {"name": "b2"}]}
            )
            assert response.status_code == 201, response.text
            position = response.headers[READ_AFTER]
            assert names(await client.get("/items", headers={READ_AFTER: position})) == [
                "b2",
                "b1",
            ]


@pytest.mark.driver_independent  # database/replica.py and the dependency only
async def test_a_position_ahead_of_the_primary_is_clamped_to_it(replicated: Replicated) -> None:
    async with app_reading_from(replicated) as client:
        await create(client, "before")
        await caught_up(replicated, client)
        # The replica has all the primary has, so a made-up position far ahead of it is read as
        # the primary's own, which the replica has replayed: the replica serves it.
        ahead = {READ_AFTER: "FFFFFFFF/FFFFFFFF"}
        assert names(await client.get("/items", headers=ahead)) == ["before"]
        metrics = (await client.get("/metrics")).text
        assert 'db_reads_total{reason="replayed",target="replica"} 1.0' in metrics
        with replay_paused(replicated):
            await create(client, "after")
            # Now the replica is behind the primary: the read goes to the primary.
            assert names(await client.get("/items", headers=ahead)) == ["after", "before"]


@pytest.mark.driver_independent  # database/replica.py and the dependency only
async def test_a_position_that_is_not_one_is_answered_400(replicated: Replicated) -> None:
    async with app_reading_from(replicated) as client:
        for wrong in ["yesterday", "0/", "1/2/3", "G/0", "123456789/0", "-1/0", "0x1/0"]:
            response = await client.get("/items", headers={READ_AFTER: wrong})
            assert response.status_code == 400, wrong
            assert READ_AFTER in response.json()["detail"]


async def test_a_replica_past_the_lag_bound_is_not_read_until_it_catches_up(
    replicated: Replicated,
) -> None:
    async with app_reading_from(replicated) as client:
        with replay_paused(replicated):
            await create(client, "unreplayed")
            await replica_status_is(client, ReplicaStatus.LAGGING)
            ready = (await client.get("/health/ready")).json()["replica"]
            assert ready["lag_seconds"] > MAX_LAG
            assert ready["lag_bytes"] > 0
            # Beyond the bound every read goes to the primary, with no position too.
            assert names(await client.get("/items")) == ["unreplayed"]
        await replica_status_is(client, ReplicaStatus.OK)
        metrics = (await client.get("/metrics")).text
        assert 'db_reads_total{reason="lagging",target="primary"} 1.0' in metrics
        assert "db_replica_up 1.0" in metrics
        assert "db_replica_lag_seconds " in metrics
        assert "db_replica_lag_bytes " in metrics


async def test_a_replica_that_is_down_turns_no_read_into_an_error_and_is_read_again_after(
    replicated: Replicated, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REPLICA_LOGGER)
    async with app_reading_from(replicated) as client:
        created = await create(client, "survivor")
        item = f"/items/{created.json()['id']}"
        await caught_up(replicated, client)
        replicated.standby.crash()
        try:
            # Reads before the check has seen it down fail over the replica's broken
            # connections; none of them may be an error.
            for _ in range(20):
                response = await client.get(item)
                assert response.status_code == 200, response.text
                await asyncio.sleep(0.02)
            await replica_status_is(client, ReplicaStatus.DOWN)
            assert names(await client.get("/items")) == ["survivor"]
            assert "db_replica_up 0.0" in (await client.get("/metrics")).text
        finally:
            replicated.standby.start()
        await replica_status_is(client, ReplicaStatus.OK)
        with replay_paused(replicated):
            await create(client, "unseen-by-the-replica")
            assert names(await client.get("/items")) == ["survivor"]
    said = [record.getMessage() for record in caplog.records if record.name == REPLICA_LOGGER]
    assert any(line.startswith("replica not used for reads: down") for line in said), said
    assert "replica used for reads again (was down)" in said, said


async def test_a_promoted_replica_is_no_longer_read(promotable: Replicated) -> None:
    async with app_reading_from(promotable) as client:
        await create(client, "before-the-promotion")
        await caught_up(promotable, client)
        promotable.standby.promote()
        await replica_status_is(client, ReplicaStatus.PROMOTED)
        # Written to the primary only: the promoted server no longer receives its WAL.
        await create(client, "after-the-promotion")
        assert names(await client.get("/items")) == ["after-the-promotion", "before-the-promotion"]


async def test_the_read_path_refuses_a_write(replicated: Replicated) -> None:
    settings = make_settings(replicated.primary, database_replica_url=replicated.replica)
    async with (
        open_database(settings) as primary,
        open_replica(settings, primary) as replica,
    ):
        assert replica.status is ReplicaStatus.OK
        read_path = await replica.database_for(None)
        assert read_path is replica.replica
        misrouted = ItemCreate(name="misrouted")
        with pytest.raises(Exception, match="read-only"):
{%- if cookiecutter.db_driver == "sqlalchemy" %}
            await read_path.run(ItemRepository(read_path).create, misrouted)
{%- else %}
            await ItemRepository(read_path).create(misrouted)
{%- endif %}
    stored = psql(replicated.primary_direct, "SELECT count(*) FROM items WHERE name = 'misrouted'")
    assert stored == "0"


async def test_without_a_replica_nothing_changes(client: AsyncClient) -> None:
    created = await client.post("/items", json={"name": "alone"})
    assert created.status_code == 201
    assert READ_AFTER not in created.headers
    # The header means nothing then, whatever it holds.
    assert (await client.get("/items", headers={READ_AFTER: "nonsense"})).status_code == 200
    assert (await client.get("/health/ready")).json()["replica"] == {"status": "disabled"}
    assert "db_replica" not in (await client.get("/metrics")).text
