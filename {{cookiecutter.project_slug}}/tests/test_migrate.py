"""`python -m {{ cookiecutter.package_name }} migrate`: the migrations under an advisory lock, so that
replicas or jobs started together apply each revision once; a bounded wait for a table's lock;
one line when it cannot connect or gives up."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from {{ cookiecutter.package_name }}.database.migrate import MIGRATION_LOCK_KEY, SCRIPT_LOCATION

from .conftest import revisions
{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .pgbouncer import PgBouncer
{% endif -%}
from .postgres import (
    free_port,
    private_directory,
    psql,
    scratch_database,
    session_holding,
    table_locked,
    wait_for,
)

pytestmark = pytest.mark.slow  # a process started per migrate, locks held

PASSWORD = "s3cret-Pa55word"
MIGRATORS = 4
# How long past its lock timeout migrate may take to give up, and a read queued behind it to run.
SLACK = 3
# What the lock-timeout test gives migrate: long enough that the test sees migrate wait however
# busy the machine (it polls with psql), far shorter than the transaction in its way.
LOCK_TIMEOUT = 5


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Where `migrate` runs: not the project, whose .env must not count."""
    with private_directory("migrate-") as directory:
        yield directory


def start_migrate(cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "migrate"],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": "", "MIGRATION_DATABASE_URL": "", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def migrate(cwd: Path, **env: str) -> tuple[int, str]:
    process = start_migrate(cwd, **env)
    output = process.communicate(timeout=120)[0]
    return process.returncode, output


def migration_lock_held(url: str) -> AbstractContextManager[None]:
    """Another session holds the migrations' advisory lock until the block ends."""
    return session_holding(
        url,
        f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY}); SELECT pg_sleep(60);",
        held=lambda holder: advisory_locks(url, granted=True) == 1,
        what="the lock to be held",
    )


def advisory_locks(url: str, *, granted: bool) -> int:
    """Advisory locks held (or waited for) in the URL's database."""
    return int(
        psql(
            url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            f"AND granted = {granted} "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    )


def tables(url: str) -> set[str]:
    return set(psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())


def upgrade_to(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


def lock_requests_waiting_on_items(url: str) -> int:
    """Lock requests on the URL's database's items that wait (pg_locks shows every database's)."""
    waiting = (
        "SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return int(psql(url, waiting))


def test_migrate_gives_up_on_a_table_in_use_and_its_queries_go_on(
    server_url: str, workdir: Path
) -> None:
    """A long transaction has read items: the next revision, which needs the table to itself,
    waits for it at most MIGRATION_LOCK_TIMEOUT, and a read queued behind that wait runs once
    migrate has given up, not once that transaction ends."""
    first, *_ = revisions()
    with scratch_database(server_url) as url:
        upgrade_to(url, first)
        with table_locked(url, mode="ACCESS SHARE", seconds=60):
            process = start_migrate(
                workdir, DATABASE_URL=url, MIGRATION_LOCK_TIMEOUT=str(LOCK_TIMEOUT)
            )
            try:
                wait_for(
                    lambda: lock_requests_waiting_on_items(url) == 1,
                    what="migrate to wait for the table",
                )
                started = time.monotonic()
                assert psql(url, "SELECT count(*) FROM items") == "0"
                read_took = time.monotonic() - started
                output = process.communicate(timeout=60)[0]
            finally:
                if process.poll() is None:  # the test failed before migrate ended
                    process.kill()
                    process.communicate()

        assert read_took < LOCK_TIMEOUT + SLACK, "the read waited for the long transaction"
        assert process.returncode == 1, output
        assert "Traceback" not in output
        assert output.strip().splitlines()[-1] == (
            "migrate: gave up waiting for a lock on a table another transaction holds"
            " (MIGRATION_LOCK_TIMEOUT); the revisions before it are applied, that one is not:"
            " run migrate again"
        )
        assert psql(url, "SELECT version_num FROM alembic_version") == first

        status, output = migrate(workdir, DATABASE_URL=url)
        assert status == 0, output
        assert psql(url, "SELECT version_num FROM alembic_version") == revisions()[-1]
{%- if cookiecutter.connection_strategy == "pgbouncer" %}


def test_migrations_started_together_apply_each_revision_once(
    server_url: str, pgbouncer: PgBouncer, workdir: Path
) -> None:
    """Through PgBouncer in transaction mode too: the lock lives in Alembic's transaction."""
    with scratch_database(server_url) as direct_url:
        url = pgbouncer.url_for(direct_url)
{%- else %}


def test_migrations_started_together_apply_each_revision_once(
    server_url: str, workdir: Path
) -> None:
    with scratch_database(server_url) as direct_url:
        url = direct_url
{%- endif %}
        # Held while they start, so that all of them are at the starting line at once.
        with migration_lock_held(direct_url):
            processes = [start_migrate(workdir, DATABASE_URL=url) for _ in range(MIGRATORS)]
            wait_for(
                lambda: advisory_locks(direct_url, granted=False) == MIGRATORS,
                what="every migrate to wait for the lock before it reads the revision",
                timeout=60,
            )
        outputs = [process.communicate(timeout=120)[0] for process in processes]

        assert [process.returncode for process in processes] == [0] * MIGRATORS, outputs
        assert {"alembic_version", "items"} <= tables(direct_url)
        assert psql(direct_url, "SELECT version_num FROM alembic_version") == revisions()[-1]
        for revision in revisions():
            applied = f" -> {revision}, "
            assert sum(applied in output for output in outputs) == 1, outputs
        assert advisory_locks(direct_url, granted=True) == 0


def test_migrate_prefers_migration_database_url(server_url: str, workdir: Path) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    with scratch_database(server_url) as url:
        status, output = migrate(workdir, DATABASE_URL=unreachable, MIGRATION_DATABASE_URL=url)

        assert status == 0, output
        assert tables(url) == {"alembic_version", "items"}


class SilentServer:
    """A port that accepts TCP connections and never answers, like a host whose firewall lets
    the connection in and nothing else: only a timeout ends a wait on it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connected_at: float | None = None
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener is closed
            while True:
                connection, _ = self.listener.accept()
                self.connected_at = self.connected_at or time.monotonic()
                self.held.append(connection)

    def close(self) -> None:
        for connection in [self.listener, *self.held]:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("server", ["refused", "silent"])
def test_migrate_says_in_one_line_when_it_cannot_connect(
    server: str, silent_server: SilentServer, workdir: Path
) -> None:
    port = free_port() if server == "refused" else silent_server.port
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{port}/app"

    status, output = migrate(workdir, DATABASE_URL=url, DB_CONNECT_TIMEOUT="1")
    ended = time.monotonic()

    assert status == 1
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith(f"migrate: cannot reach postgresql://app:***@127.0.0.1:{port}/app: ")
    assert PASSWORD not in output
    if server == "silent":
        assert silent_server.connected_at is not None
        # DB_CONNECT_TIMEOUT (libpq waits 2 s at least), and the time to exit.
        assert ended - silent_server.connected_at < 10, "waited long past DB_CONNECT_TIMEOUT"


def test_migrate_without_a_database_url_says_which_to_set(workdir: Path) -> None:
    status, output = migrate(workdir)

    assert status == 1
    assert output.strip() == (
        "Set MIGRATION_DATABASE_URL or DATABASE_URL to the database to migrate."
    )
