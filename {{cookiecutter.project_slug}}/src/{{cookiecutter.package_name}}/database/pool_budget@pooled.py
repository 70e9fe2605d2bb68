{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""The connection budget, read once at start-up and logged, never a reason not to start. Behind
PgBouncer the app cannot check it: what must fit is PgBouncer's to keep, and the app cannot read
PgBouncer's settings. It says what it knows, and warns when PgBouncer's server connections do
not have the service's statement timeout (PgBouncer sets it: connect_query in pgbouncer.ini)."""
{%- else -%}
"""Whether the pools fit beside the server's other connections: checked once at start-up, and
warned about, never a reason not to start. A pool too large for the server fails only once it
fills up, when the server refuses its new connections (503s under load)."""
{%- endif %}

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..settings import Settings

logger = logging.getLogger(__name__)

# What the server allows, and how many connections its other clients hold now: those of this
# service (its application_name) are what WORKERS x DB_POOL_MAX_SIZE stands for.
SERVER_CONNECTIONS_QUERY = """
SELECT current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int
           + coalesce(current_setting('reserved_connections', true)::int, 0),
       (SELECT count(*)::int FROM pg_stat_activity
         WHERE backend_type = 'client backend'
           AND application_name IS DISTINCT FROM current_setting('application_name'))
{%- if cookiecutter.connection_strategy == "pgbouncer" %},
       (SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout')
{%- endif %}
"""


@dataclass(frozen=True)
class ServerConnections:
    max_connections: int
    reserved: int  # for superusers and roles granted pg_use_reserved_connections
    in_use_by_others: int
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    statement_timeout_ms: int  # of the server connection PgBouncer lent; 0 is none
{%- endif %}

    @property
    def left(self) -> int:
        return self.max_connections - self.reserved - self.in_use_by_others


async def log_pool_budget(
    server_connections: Callable[[], Awaitable[ServerConnections]], settings: Settings
) -> None:
    try:
        server = await server_connections()
    except Exception as error:  # the budget is advice: it never stops the service
        logger.warning("pool budget not checked: %s: %s", type(error).__name__, error)
        return
    wanted = settings.workers * settings.db_pool_max_size
{%- if cookiecutter.connection_strategy == "pgbouncer" %}
    logger.info(
        "pool budget, behind PgBouncer: WORKERS x DB_POOL_MAX_SIZE = %d x %d = %d connections "
        "to PgBouncer per replica must fit its max_client_conn, and its server pools "
        "(default_pool_size per database and user) the %d connections the server has left "
        "(max_connections %d, %d reserved, %d in use); PgBouncer's settings cannot be read from "
        "here (its admin console: SHOW CONFIG)",
        settings.workers,
        settings.db_pool_max_size,
        wanted,
        server.left,
        server.max_connections,
        server.reserved,
        server.in_use_by_others,
    )
    wanted_timeout_ms = round(settings.db_statement_timeout * 1000)
    if server.statement_timeout_ms != wanted_timeout_ms:
        logger.warning(
            "statement timeout behind PgBouncer: DB_STATEMENT_TIMEOUT is %d ms, but PgBouncer's "
            "server connections have %s: give the database in pgbouncer.ini "
            "connect_query='SET statement_timeout = ''%gs''' (see docs/connections.md)",
            wanted_timeout_ms,
            f"{server.statement_timeout_ms} ms" if server.statement_timeout_ms else "none",
            settings.db_statement_timeout,
        )
{%- else %}
    if wanted > server.left:
        logger.warning(
            "pool budget exceeded: WORKERS x DB_POOL_MAX_SIZE = %d x %d = %d connections, but "
            "the server has %d left (max_connections %d, %d reserved, %d used by other "
            "clients); under load it will refuse the rest (503s): lower WORKERS or "
            "DB_POOL_MAX_SIZE, or raise max_connections",
            settings.workers,
            settings.db_pool_max_size,
            wanted,
            server.left,
            server.max_connections,
            server.reserved,
            server.in_use_by_others,
        )
{%- endif %}
