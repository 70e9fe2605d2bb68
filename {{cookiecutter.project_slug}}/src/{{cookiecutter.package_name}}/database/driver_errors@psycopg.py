"""Which psycopg errors mean the database cannot serve now (503), and which are conflicts (409)."""

import psycopg
{%- if cookiecutter.connection_strategy != "per_request" %}
from psycopg_pool import PoolTimeout
{%- endif %}

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
{%- if cookiecutter.connection_strategy != "per_request" %}
    PoolTimeout,  # no connection within DB_POOL_TIMEOUT, the database down included
{%- endif %}
    psycopg.OperationalError,  # connection refused or lost, statement timeout, too many clients
    TimeoutError,  # no answer from the server (connections.failures_handled)
)
CONFLICTS: tuple[type[Exception], ...] = (psycopg.IntegrityError,)
