"""Only the service's own errors become answers other than 500: the database that cannot serve
(503), a unique key taken (409), a bad request (422). Anything else is a bug, answered 500 and
logged with its traceback, whatever its type: an OSError that has nothing to do with the
database is no "database unavailable", and an integrity error that no one expects (a check
that fails, say) is no conflict of the client's making."""

import logging

import pytest
from httpx import AsyncClient, Response

from {{ cookiecutter.package_name }}.database.replica import get_reads
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import serve
from .postgres import at_commit, psql

ERRORS_LOGGER = "{{ cookiecutter.package_name }}.errors"


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == ERRORS_LOGGER]


def assert_internal_error(
    response: Response, records: list[logging.LogRecord], cause: type[BaseException]
) -> None:
    assert response.status_code == 500, response.text
    assert response.json() == {"detail": "Internal Server Error"}
    assert records, "the 500 was not logged"
    for record in records:
        assert record.levelno == logging.ERROR
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], cause)


async def test_an_os_error_outside_the_database_is_a_logged_500(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def out_of_disk() -> None:
        raise OSError(28, "No space left on device")

    async with serve(settings, {get_reads: out_of_disk}) as client:
        with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
            response = await client.get("/items/1")

    assert_internal_error(response, logged_errors(caplog), OSError)


async def test_an_integrity_error_no_one_expects_is_a_logged_500(
    client: AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    item = (await client.post("/items", json={"name": "lamp"})).json()
    check = "RAISE EXCEPTION 'a bug' USING ERRCODE = 'check_violation';"

    with at_commit(database_url, check), caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
        for method, path, body in [
            ("POST", "/items", {"name": "desk"}),
            ("PATCH", f"/items/{item['id']}", {"name": "light"}),
            ("DELETE", f"/items/{item['id']}", None),
        ]:
            caplog.clear()
            response = await client.request(method, path, json=body)
            assert_internal_error(response, logged_errors(caplog), Exception)

    assert psql(database_url, "SELECT name FROM items") == "lamp"
