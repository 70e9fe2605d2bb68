"""SIGTERM drains the service: readiness fails at once while requests are still served for
DRAIN_DELAY, and the process exits 0 within DRAIN_TIMEOUT, even under load with the database
frozen. The frozen database is the tests' own embedded server, never TEST_DATABASE_URL's."""

import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.package_name }}.app import create_app
from {{ cookiecutter.package_name }}.database.embedded import PostgresServer
from {{ cookiecutter.package_name }}.settings import DATABASE_CLOSE_TIMEOUT

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .conftest import STATEMENT_TIMEOUT, make_settings, migrated_database
from .pgbouncer import pgbouncer_in_front_of
{% else -%}
from .conftest import make_settings
{% endif -%}
from .postgres import frozen, wait_for
from .service import service

pytestmark = pytest.mark.slow  # processes started and signalled, servers frozen

DRAIN_DELAY = 2
DRAIN_TIMEOUT = 8
{%- if cookiecutter.connection_strategy == "pgbouncer" %}


@pytest.fixture
def own_database_url(own_server: PostgresServer) -> Iterator[str]:
    """Here through a PgBouncer of each test's own. A drain under a freeze can leave PgBouncer
    1.18 dead: a client goes away while its cancel request waits on the frozen server
    (pgbouncer/pgbouncer#801, fixed in 1.19), and the next test needs one that runs."""
    with (
        pgbouncer_in_front_of(own_server.get_uri(), STATEMENT_TIMEOUT) as bouncer,
        migrated_database(own_server.get_uri(), bouncer) as url,
    ):
        yield url
{%- endif %}


def wait_for_status(url: str, status: int, within: float) -> float:
    """Poll until the URL answers the status; the seconds it took."""
    started = time.monotonic()
    while (code := httpx.get(url, timeout=within).status_code) != status:
        assert time.monotonic() - started < within, f"{url} still answers {code}"
        time.sleep(0.01)
    return time.monotonic() - started


def test_readiness_fails_at_once_while_requests_are_still_served(
    database_url: str, workdir: Path
) -> None:
    with service(
        workdir,
        DATABASE_URL=database_url,
        DRAIN_DELAY=str(DRAIN_DELAY),
        DRAIN_TIMEOUT=str(DRAIN_TIMEOUT),
    ) as running:
        signalled = time.monotonic()
        running.process.send_signal(signal.SIGTERM)

        took = wait_for_status(f"{running.url}/health/ready", 503, within=1.0)
        ready = httpx.get(f"{running.url}/health/ready")
        created = httpx.post(f"{running.url}/items", json={"name": "after SIGTERM"})
        alive = httpx.get(f"{running.url}/health")
        served_for = time.monotonic() - signalled

        running.process.wait(timeout=DRAIN_TIMEOUT)
        exited_after = time.monotonic() - signalled

    assert took < 1.0
    assert ready.json() == {"detail": "The service is shutting down."}
    assert (created.status_code, alive.status_code) == (201, 200)
    assert served_for < DRAIN_DELAY  # all of the above happened during the delay
    assert DRAIN_DELAY <= exited_after < DRAIN_TIMEOUT
    assert running.process.returncode == 0
    log = running.log()
    assert "draining" in log
    # uvicorn's own shutdown ended the drain (the lifespan closed the pool), not the cut-off
    # that ends a process something still holds.
    assert "Application shutdown complete" in log
    assert "still waits" not in log


async def test_the_database_closes_within_its_bound_when_the_server_is_frozen(
    own_server: PostgresServer, own_database_url: str
) -> None:
    manager = LifespanManager(create_app(make_settings(own_database_url)), shutdown_timeout=30)
    await manager.__aenter__()
    transport = ASGITransport(app=manager.app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health/ready")).status_code == 200  # connections are open
    with frozen(own_server):
        started = time.monotonic()
        await manager.__aexit__(None, None, None)
        took = time.monotonic() - started

    assert took < DATABASE_CLOSE_TIMEOUT + 0.5


@contextmanager
def writing(url: str, clients: int) -> Iterator[Counter[str]]:
    """Clients that create items one after another until the block ends or they are answered
    503; what they got, by status code or error."""
    outcomes: Counter[str] = Counter()
    stop = threading.Event()
    run = secrets.token_hex(4)  # names of its own: the database outlives one test

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=DRAIN_TIMEOUT * 2) as http:
            for sequence in range(1_000_000):
                if stop.is_set():
                    return
                try:
                    response = http.post("/items", json={"name": f"load-{run}-{number}-{sequence}"})
                except httpx.TransportError as error:
                    outcomes[type(error).__name__] += 1
                    return  # the service is gone
                outcomes[str(response.status_code)] += 1
                if response.status_code == 503:
                    return  # told to retry later, or elsewhere

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield outcomes
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=DRAIN_TIMEOUT * 3)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_with_the_database_frozen_exits_0_within_the_drain_timeout(
    own_server: PostgresServer, own_database_url: str, workdir: Path, workers: int
) -> None:
    settings = {
        "DATABASE_URL": own_database_url,
        "WORKERS": str(workers),
        "LOG_LEVEL": "info",
        "DRAIN_DELAY": "1",
        "DRAIN_TIMEOUT": str(DRAIN_TIMEOUT),
        # Longer than the drain: only the drain can end the requests the freeze holds.
        "DB_STATEMENT_TIMEOUT": "60",
{%- if cookiecutter.connection_strategy != "per_request" %}
        "DB_POOL_TIMEOUT": "60",
{%- endif %}
        "DB_CONNECT_TIMEOUT": "60",
    }
    with service(workdir, **settings) as running:
        # Ready means one worker answered: a worker still starting when the server freezes would
        # stay in its start-up until the drain cuts it off.
        wait_for(
            lambda: running.log().count("Application startup complete") == workers,
            what="every worker to start",
            timeout=60,
        )
        with writing(running.url, clients=8) as outcomes:
            wait_for(lambda: outcomes["201"] >= 8, what="the first writes")
            with frozen(own_server):
                time.sleep(0.5)  # the writes in flight now wait on the database
                took = running.stop(timeout=DRAIN_TIMEOUT * 2)

    assert took < DRAIN_TIMEOUT, (took, running.log())
    assert running.process.returncode == 0, running.log()
    # Every request in flight is answered: done, or cut short by the drain. Once the service
    # has stopped listening, the next ones find no connection.
    assert set(outcomes) <= {"201", "503", "ConnectError"}, (outcomes, running.log())
    assert outcomes["503"] > 0, outcomes
