"""Which psycopg errors mean that the database cannot serve now, and which that a change
conflicts with what is stored: the database package turns them into the service's own
``DatabaseUnavailable`` (503) and ``Conflict`` (409)."""

import psycopg
from psycopg.errors import UniqueViolation
{%- if cookiecutter.connection_strategy != "per_request" %}
from psycopg_pool import PoolTimeout
{%- endif %}

# Raised when PostgreSQL cannot serve now: down, restarting, overloaded, or too slow.
UNAVAILABLE: tuple[type[Exception], ...] = (
{%- if cookiecutter.connection_strategy != "per_request" %}
    PoolTimeout,  # no connection within DB_POOL_TIMEOUT, the database down included
{%- endif %}
    psycopg.OperationalError,  # connection refused or lost, statement timeout, too many clients
)
# A unique key taken: the one integrity error that is the client's doing whatever the change.
UNIQUE_VIOLATION = UniqueViolation
