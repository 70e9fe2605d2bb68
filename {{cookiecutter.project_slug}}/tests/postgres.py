"""The PostgreSQL servers the tests run against, driven with `psql` so that the checks do not
depend on the driver under test."""

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from {{ cookiecutter.package_name }}.database.embedded import BIN_DIR, PostgresServer, embedded_server

PSQL = BIN_DIR / "psql"


@contextmanager
def private_directory(prefix: str) -> Iterator[Path]:
    """A new directory outside pytest's tmp_path tree. When the tests run as root, the embedded
    server runs as another user, and pytest resets its tree to owner-only (0700) whenever
    another pytest session starts: the server would lose its data directory mid-run."""
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        yield Path(directory)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on, for a server the tests start."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """An embedded PostgreSQL of the tests' own, deleted afterwards."""
    with (
        private_directory("pg-test-") as directory,
        embedded_server(directory / "data", keep_data=False) as server,
    ):
        yield server


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def psql(url: str, sql: str) -> str:
    """Run SQL through psql and return its unaligned output."""
    result = subprocess.run(
        [str(PSQL), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for the block; dropped afterwards."""
    name = f"test_{{ cookiecutter.package_name }}_{secrets.token_hex(4)}"
    psql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        psql(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def session_holding(
    url: str, sql: str, *, held: Callable[[str], bool], what: str
) -> Iterator[None]:
    """Another session, a psql of its own, runs the SQL (which takes a lock, then sleeps) for as
    long as the block runs; the block starts once ``held(its application_name)`` is true."""
    name = f"test-holder-{secrets.token_hex(4)}"
    process = subprocess.Popen(
        [str(PSQL), "-X", "-q", "-d", url, "-c", sql],
        env={**os.environ, "PGAPPNAME": name},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: held(name), what=what)
        yield
    finally:
        psql(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE application_name = '{name}'",
        )
        process.wait(timeout=10)


def table_locked(
    url: str, table: str = "items", seconds: float = 30, mode: str = "ACCESS EXCLUSIVE"
) -> AbstractContextManager[None]:
    """Another session holds a lock on the table in a transaction: by default an exclusive one,
    so every query on it waits; in ACCESS SHARE mode, as a long transaction that read it."""

    def held(holder: str) -> bool:
        granted = psql(
            url,
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            f"WHERE a.application_name = '{holder}' AND l.relation = '{table}'::regclass "
            "AND l.granted",
        )
        return granted == "1"

    return session_holding(
        url,
        f"BEGIN; LOCK TABLE {table} IN {mode} MODE; SELECT pg_sleep({seconds});",
        held=held,
        what=f"the lock on {table}",
    )


@contextmanager
def items_table_gone(url: str) -> Iterator[None]:
    """The items table renamed away for the block, as a bug would leave a query: every request
    on it fails with an error the service does not expect, a 500."""
    psql(url, "ALTER TABLE items RENAME TO items_away")
    try:
        yield
    finally:
        psql(url, "ALTER TABLE items_away RENAME TO items")


@contextmanager
def at_commit(url: str, body: str) -> Iterator[None]:
    """Every transaction that wrote to items runs `body` (PL/pgSQL) when it commits, as deferred
    constraints do; removed after the block."""
    psql(
        url,
        f"""
        CREATE FUNCTION at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {body}
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT OR UPDATE OR DELETE ON items
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION at_commit();
        """,
    )
    try:
        yield
    finally:
        psql(url, "DROP TRIGGER at_commit ON items; DROP FUNCTION at_commit()")


def connections_of(url: str, application_name: str) -> list[str]:
    """The states of the connections an application holds to the URL's database (other test
    runs on the same server use databases of their own)."""
    states = psql(
        url,
        "SELECT coalesce(state, '') FROM pg_stat_activity "
        f"WHERE application_name = '{application_name}' AND datname = current_database() "
        "AND pid <> pg_backend_pid()",
    )
    return states.splitlines()


def sessions_waiting_for_a_lock(url: str) -> int:
    """How many sessions on the URL's database wait for a lock."""
    return int(
        psql(
            url,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    )


def terminate_backends(url: str, condition: str = "true") -> int:
    """End the server process of every other client of the URL's database for which the SQL
    ``condition`` holds, as an administrator or a crash would; how many there were."""
    return int(
        psql(
            url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            f"AND backend_type = 'client backend' AND ({condition})",
        )
    )


def other_backends(url: str) -> set[int]:
    """The server processes of the clients other than psql connected to the URL's database."""
    pids = psql(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    return {int(pid) for pid in pids.split()}


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


async def eventually(condition: Callable[[], bool], *, what: str) -> None:
    """``wait_for`` in an async test: the checks and the pauses between them run in a thread,
    so that the app's event loop goes on serving, and the app's own tasks go on running."""
    await asyncio.to_thread(wait_for, condition, what=what)


def stop_embedded(server: PostgresServer) -> None:
    """Shut the server down the way an operator would (fast mode: sessions are ended)."""
    subprocess.run(
        [str(BIN_DIR / "pg_ctl"), "-D", str(server.pgdata), "-w", "-m", "fast", "stop"],
        user=server.system_user,
        check=True,
        capture_output=True,
        timeout=60,
    )


def start_embedded(server: PostgresServer) -> None:
    server.ensure_postgres_running()


def process_state_and_parent(pid: int) -> tuple[str, int] | None:
    """From /proc: the process's state letter and its parent's pid; None once it has ended."""
    try:
        # The fields after the command's closing parenthesis: state, then the parent's pid.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children_of(parent: int) -> list[int]:
    pids = (int(path.name) for path in Path("/proc").glob("[0-9]*"))
    return [pid for pid in pids if (found := process_state_and_parent(pid)) and found[1] == parent]


@contextmanager
def frozen(server: PostgresServer) -> Iterator[None]:
    """The server stops answering, as a hung host or a paused VM does: every one of its
    processes is stopped (SIGSTOP) while TCP connections and sockets stay open; they go on
    (SIGCONT) after the block. Only for a server the tests own.

    The postmaster stops first, and its children are listed once it has: a backend it started
    meanwhile would otherwise be missed, and go on serving."""
    postmaster = server.get_pid()
    assert postmaster is not None, "the server is not running"
    stopped = [postmaster]
    try:
        os.kill(postmaster, signal.SIGSTOP)
        wait_for(
            lambda: (process_state_and_parent(postmaster) or ("T", 0))[0] == "T",
            what="the postmaster to stop",
        )
        for pid in children_of(postmaster):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@dataclass(frozen=True)
class Standby:
    """A streaming replica of an embedded server, on a Unix socket of its own."""

    data: Path
    socket_dir: Path
    log: Path
    primary: PostgresServer

    def url(self, database: str = "postgres") -> str:
        parts = urlsplit(self.primary.get_uri())
        query = dict(parse_qsl(parts.query)) | {"host": str(self.socket_dir)}
        return urlunsplit(parts._replace(path=f"/{database}", query=urlencode(query, safe="/")))

    def pg_ctl(self, *arguments: str) -> None:
        result = subprocess.run(
            [str(BIN_DIR / "pg_ctl"), "-D", str(self.data), "-w", *arguments],
            user=self.primary.system_user,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl {' '.join(arguments)}: {result.stderr}{self.log.read_text()}"
            )

    def start(self) -> None:
        self.pg_ctl("-l", str(self.log), "-o", f'-h "" -k {self.socket_dir}', "start")

    def crash(self) -> None:
        """Stopped at once, as a lost host is: no shutdown checkpoint, sessions cut."""
        self.pg_ctl("-m", "immediate", "stop")

    def promote(self) -> None:
        self.pg_ctl("promote")


@contextmanager
def streaming_replica(primary: PostgresServer) -> Iterator[Standby]:
    """A replica of the server streaming its WAL, as production makes one: a base backup taken
    with ``pg_basebackup -R`` (which writes the connection back to the primary), then started
    from it, by the embedded server's own binaries; stopped and deleted afterwards."""
    with private_directory("pg-replica-") as directory:
        socket_dir = directory / "socket"
        socket_dir.mkdir()
        if primary.system_user is not None:  # as root, the server runs as a user of its own
            for path in (directory, socket_dir):
                shutil.chown(path, primary.system_user, primary.system_user)
        standby = Standby(directory / "data", socket_dir, directory / "replica.log", primary)
        backup = [str(BIN_DIR / "pg_basebackup"), "-d", primary.get_uri(), "-D", str(standby.data)]
        subprocess.run(
            [*backup, "-R", "-X", "stream", "-c", "fast"],
            user=primary.system_user,
            capture_output=True,
            check=True,
            timeout=120,
        )
        standby.start()
        try:
            yield standby
        finally:
            with suppress(RuntimeError):
                standby.crash()


def replayed(standby_url: str, position: str) -> bool:
    """Whether the replica has replayed the primary's WAL up to the position."""
    return psql(standby_url, f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn") == "t"

{%- if cookiecutter.connection_strategy == "per_request" %}


@contextmanager
def role_without_connections(url: str) -> Iterator[str]:
    """The URL for a new role the server lets in (password checked) but turns away as having
    too many connections; the role is dropped afterwards."""
    role = f"test_refused_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    psql(url, f"CREATE ROLE {role} LOGIN PASSWORD '{password}' CONNECTION LIMIT 0")
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        yield urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))
    finally:
        psql(url, f"DROP ROLE {role}")
{%- endif %}
