{%- if cookiecutter.connection_strategy == "pgbouncer" -%}
"""At start-up the service says what it knows of the connection budget behind PgBouncer, and
what it cannot check."""
{%- else -%}
"""At start-up the service compares its pools with the server's connection limit, and warns
(never fails) when they cannot fit."""
{%- endif %}

import logging

import pytest

from {{ cookiecutter.package_name }}.settings import Settings

{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .conftest import STATEMENT_TIMEOUT, make_settings, serve
{% else -%}
from .conftest import make_settings, serve
{% endif -%}
from .postgres import psql

LOGGER = "{{ cookiecutter.package_name }}.database.pool_budget"


def budget_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


async def the_budget_record(
    settings: Settings, caplog: pytest.LogCaptureFixture, level: int
) -> logging.LogRecord:
    """Start the service, see that it is ready, and return the one record the budget check
    logged at that level or above."""
    with caplog.at_level(level, logger=LOGGER):
        async with serve(settings) as client:
            ready = await client.get("/health/ready")

    assert ready.status_code == 200
    [record] = budget_records(caplog)
    return record
{%- if cookiecutter.connection_strategy == "pgbouncer" %}


async def test_the_budget_behind_pgbouncer_is_one_line_that_says_what_cannot_be_checked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, workers=3, db_pool_max_size=10)
    record = await the_budget_record(settings, caplog, logging.INFO)
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert "WORKERS x DB_POOL_MAX_SIZE = 3 x 10 = 30 connections to PgBouncer" in message
    assert f"max_connections {psql(database_url, 'SHOW max_connections')}" in message
    assert "cannot be read" in message


async def test_a_timeout_other_than_pgbouncers_is_a_warning_at_start_up(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, db_statement_timeout=1.5)
    record = await the_budget_record(settings, caplog, logging.WARNING)
    message = record.getMessage()
    assert "DB_STATEMENT_TIMEOUT is 1500 ms" in message
    assert f"have {STATEMENT_TIMEOUT * 1000:g} ms" in message
    assert "connect_query='SET statement_timeout = ''1.5s'''" in message
{%- else %}


async def test_pools_too_large_for_the_server_are_a_warning_not_a_failure(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(database_url, workers=4, db_pool_max_size=10_000)
    record = await the_budget_record(settings, caplog, logging.INFO)
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "WORKERS x DB_POOL_MAX_SIZE = 4 x 10000 = 40000 connections" in message
    assert f"max_connections {psql(database_url, 'SHOW max_connections')}" in message


async def test_pools_that_fit_start_without_a_word(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        async with serve(make_settings(database_url, workers=2, db_pool_max_size=4)):
            pass

    assert budget_records(caplog) == []
{%- endif %}
