"""A real PgBouncer in transaction mode in front of the tests' PostgreSQL, run with the project's
own `pgbouncer/pgbouncer.ini`, so that the app meets it exactly as in production."""

import configparser
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import pytest

from .postgres import free_port, private_directory, psql

PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "pgbouncer" / "pgbouncer.ini"
# Debian and Ubuntu install it in /usr/sbin, which is not on every user's PATH.
PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
NOT_INSTALLED = (
    "PgBouncer is not installed, so the tests that run through it are skipped: install it "
    "(Debian/Ubuntu: `sudo apt-get install pgbouncer`; macOS: `brew install pgbouncer`) and "
    "run the tests again"
)


def pgbouncer_version() -> tuple[int, ...]:
    """The installed PgBouncer's version: 1.21 and later can pass prepared statements on."""
    assert PGBOUNCER is not None, NOT_INSTALLED
    output = subprocess.run(
        [PGBOUNCER, "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    return tuple(int(part) for part in output.split()[1].split(".")[:2])


@dataclass(frozen=True)
class PgBouncer:
    port: int

    def url_for(self, database_url: str) -> str:
        """The same database and user, reached through PgBouncer."""
        parts = urlsplit(database_url)
        user = unquote(parts.username or "postgres")
        return urlunsplit(("postgresql", f"{user}@127.0.0.1:{self.port}", parts.path, "", ""))


def server_address(server_url: str) -> tuple[str, int, str, str]:
    """Host (or Unix socket directory), port, user and password of a PostgreSQL URL."""
    parts = urlsplit(server_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
    return host, parts.port or 5432, unquote(parts.username or ""), unquote(parts.password or "")


def write_config(directory: Path, server_url: str, port: int, statement_timeout: float) -> Path:
    """The project's pgbouncer.ini with the test addresses and the tests' short timeouts (as in
    their settings); PgBouncer logs in to PostgreSQL as the server URL's user, whoever the
    client says it is (auth_type = any)."""
    config = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    config.read(PROJECT_CONFIG)
    host, server_port, user, password = server_address(server_url)
    target = f"host={host} port={server_port} user={user}"
    if password:
        target += f" password={password}"
    timeout = f"connect_query='SET statement_timeout = ''{statement_timeout:g}s'''"
    config["databases"] = {"*": f"{target} {timeout}"}
    config["pgbouncer"].update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",
            "auth_type": "any",
            "auth_file": "",
            "logfile": "",
            "pidfile": "",
            "query_wait_timeout": "1",
            "log_connections": "1",
            "log_disconnections": "1",
        }
    )
    path = directory / "pgbouncer.ini"
    with path.open("w") as file:
        config.write(file)
    return path


def run_as(server_host: str) -> list[str]:
    """PgBouncer will not run as root: then it runs as the owner of the server's socket
    directory (the embedded server's user, who alone may enter it), or as nobody."""
    if os.geteuid() != 0:
        return []
    return ["-u", Path(server_host).owner() if server_host.startswith("/") else "nobody"]


@contextmanager
def pgbouncer_in_front_of(server_url: str, statement_timeout: float) -> Iterator[PgBouncer]:
    """PgBouncer on a free loopback port in front of the server, stopped afterwards; its server
    connections have the statement timeout given, in seconds."""
    if PGBOUNCER is None:
        pytest.skip(NOT_INSTALLED)
    with private_directory("pgbouncer-") as directory:
        directory.chmod(0o755)  # readable by the user PgBouncer runs as
        bouncer = PgBouncer(free_port())
        config = write_config(directory, server_url, bouncer.port, statement_timeout)
        config.chmod(0o644)
        log = directory / "pgbouncer.log"
        command = [PGBOUNCER, *run_as(server_address(server_url)[0]), str(config)]
        with log.open("w") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_it_answers(bouncer, server_url, process, log)
            yield bouncer
        finally:
            process.terminate()
            process.wait(timeout=10)


def wait_until_it_answers(
    bouncer: PgBouncer, server_url: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer exited {process.returncode}:\n{log.read_text()}")
        try:
            psql(bouncer.url_for(server_url), "SELECT 1")
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PgBouncer does not answer:\n{log.read_text()}") from None
            time.sleep(0.05)
