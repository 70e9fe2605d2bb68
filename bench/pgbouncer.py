"""A PgBouncer in transaction mode in front of the server, for the `pgbouncer` variants."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from tests.baking import pgbouncer_binary

from .postgres import Server, database_name
from .serving import accepts_connections, free_port, running

POOL_SIZE = 20  # server connections per database and user (PgBouncer's default_pool_size)
MAX_CLIENTS = 500  # enough for a per-connection app at any client count the harness uses
# The apps' default DB_STATEMENT_TIMEOUT, set on every server connection as the project's own
# pgbouncer.ini sets it (connect_query): the apps send no statement timeout of their own.
CONNECT_QUERY = "connect_query='SET statement_timeout = ''30s'''"


def run_as(server: Server) -> str | None:
    """PgBouncer refuses to run as root. The embedded server's user can reach its socket in the
    owner-only data directory; any other server is reached over TCP, so `nobody` will do."""
    if os.geteuid() != 0:
        return None
    return server.system_user or "nobody"


def config(server: Server, port: int, auth_file: Path) -> str:
    password = f" password={server.password}" if server.password else ""
    return f"""\
[databases]
* = host={server.host} port={server.port}{password} {CONNECT_QUERY}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = {MAX_CLIENTS}
ignore_startup_parameters = extra_float_digits
; A line per client connection would cost a per-connection app more than the app itself.
log_connections = 0
log_disconnections = 0
"""


@contextmanager
def pgbouncer(server: Server, database_url: str, log: Path) -> Iterator[str]:
    """A PgBouncer for the block; yields ``database_url`` pointed at it. It logs to its stderr,
    which goes to ``log``."""
    binary = pgbouncer_binary()
    assert binary, "check pgbouncer_binary() first"
    user = run_as(server)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-pgbouncer-") as directory:
        config_dir = Path(directory)
        auth_file = config_dir / "userlist.txt"
        auth_file.write_text(f'"{server.user}" "{server.password}"\n')
        config_file = config_dir / "pgbouncer.ini"
        config_file.write_text(config(server, port, auth_file))
        # The user it switches to reads these too.
        config_dir.chmod(0o755)
        for file in (auth_file, config_file):
            file.chmod(0o644)
        command = [binary, *(["-u", user] if user else []), str(config_file)]
        with running(
            command,
            cwd=config_dir,
            env={},
            log=log,
            ready=accepts_connections(port),
            what="pgbouncer",
        ):
            yield _through(database_url, server, port)


def _through(database_url: str, server: Server, port: int) -> str:
    """The same database and user, reached through PgBouncer on 127.0.0.1:``port``."""
    userinfo = quote(server.user, safe="")
    if server.password:
        userinfo += ":" + quote(server.password, safe="")
    return f"postgresql://{userinfo}@127.0.0.1:{port}/{database_name(database_url)}"
