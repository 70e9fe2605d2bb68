"""`alembic upgrade head` migrates the database named by DATABASE_URL, and migrations reverse."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import revisions
{% if cookiecutter.connection_strategy == "pgbouncer" -%}
from .pgbouncer import PgBouncer
{% endif -%}
from .postgres import psql, scratch_database


def alembic(project_dir: Path, database_url: str, *arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", *arguments],
        cwd=project_dir,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        timeout=120,
    )


def tables(database_url: str) -> set[str]:
    listed = psql(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return set(listed.splitlines())
{%- if cookiecutter.connection_strategy == "pgbouncer" %}


def test_alembic_cli_migrates_database_url_up_and_down(
    project_dir: Path, server_url: str, pgbouncer: PgBouncer
) -> None:
    with scratch_database(server_url) as direct_url:
        url = pgbouncer.url_for(direct_url)  # as DATABASE_URL is in production
{%- else %}


def test_alembic_cli_migrates_database_url_up_and_down(project_dir: Path, server_url: str) -> None:
    with scratch_database(server_url) as url:
{%- endif %}
        alembic(project_dir, url, "upgrade", "head")
        assert {"alembic_version", "items"} <= tables(url)

        alembic(project_dir, url, "downgrade", "base")
        assert tables(url) == {"alembic_version"}

        alembic(project_dir, url, "upgrade", "head")
        assert psql(url, "SELECT version_num FROM alembic_version") == revisions()[-1]


def test_the_database_refuses_a_description_longer_than_the_api_allows(database_url: str) -> None:
    insert = "INSERT INTO items (name, description) VALUES ('{}', repeat('x', {}))"

    psql(database_url, insert.format("at", 2000))
    with pytest.raises(RuntimeError, match="items_description_length"):
        psql(database_url, insert.format("past", 2001))
