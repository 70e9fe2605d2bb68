"""Requests are bounded: a body above MAX_REQUEST_BODY_BYTES is answered 413 without being read,
no error echoes the input back, and a description has a maximum length."""

import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.items.schemas import DESCRIPTION_MAX_LENGTH
from {{ cookiecutter.package_name }}.web.errors import (
    MAX_LOCATION_PART,
    MAX_REPORTED_ERRORS,
    invalid_request,
)

from .conftest import make_settings, serve
from .service import service

LIMIT = 1024  # bytes, for the in-process tests
QUICK = 2.0  # seconds within which an oversized body must be answered


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_oversized_bodies_are_413_at_once_while_health_answers(
    database_url: str, workdir: Path
) -> None:
    """The issue's case, 20 MB announced, is answered as soon as the headers are in; a chunked
    body, once it passes the limit. Either way the connection is closed rather than the rest
    read (none of the rest is sent here: the server would reset a connection closed with data
    unread, and the client could lose the answer)."""
    limit = 1024 * 1024  # the default
    with service(workdir, DATABASE_URL=database_url) as running:
        address = ("127.0.0.1", int(running.url.rpartition(":")[2]))
        with socket.create_connection(address, timeout=QUICK) as announced:
            started = time.monotonic()
            announced.sendall(request_head(b"Content-Length: 20000000") + b"x" * 1024)
            assert httpx.get(f"{running.url}/health", timeout=QUICK).status_code == 200
            too_large = read_response(announced)
            took = time.monotonic() - started
        with socket.create_connection(address, timeout=QUICK) as chunked:
            chunked.sendall(request_head(b"Transfer-Encoding: chunked"))
            chunk = b"x" * 65536
            for _ in range(limit // len(chunk)):
                chunked.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            chunked.sendall(b"1\r\nx\r\n")  # one byte past the limit; the body never ends
            cut_off = read_response(chunked)

    for response in (too_large, cut_off):
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
        assert b"connection: close" in head.lower()
        assert json.loads(body) == {"detail": f"The request body is larger than {limit} bytes."}
    assert took < QUICK


def request_head(framing: bytes) -> bytes:
    return (
        b"POST /items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n\r\n"
    )


@pytest.fixture
async def limited_client(database_url: str) -> AsyncIterator[AsyncClient]:
    async with serve(make_settings(database_url, max_request_body_bytes=LIMIT)) as client:
        yield client


def body_of_size(size: int) -> bytes:
    body = json.dumps({"name": "lamp", "description": ""}).encode()
    return body.replace(b'""', b'"' + b"x" * (size - len(body)) + b'"')


async def test_a_body_of_the_limit_is_read_and_one_byte_more_is_413(
    limited_client: AsyncClient,
) -> None:
    headers = {"Content-Type": "application/json"}

    at_limit = await limited_client.post("/items", content=body_of_size(LIMIT), headers=headers)
    above = await limited_client.post("/items", content=body_of_size(LIMIT + 1), headers=headers)

    assert at_limit.status_code == 201, at_limit.text
    assert above.status_code == 413
    assert above.json() == {"detail": f"The request body is larger than {LIMIT} bytes."}
    assert (await limited_client.get("/items")).json()[0]["name"] == "lamp"


async def test_a_chunked_body_is_counted(limited_client: AsyncClient) -> None:
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    headers = {"Content-Type": "application/json"}
    at_limit = await limited_client.post(
        "/items", content=chunks(body_of_size(LIMIT)), headers=headers
    )
    above = await limited_client.post(
        "/items", content=chunks(body_of_size(LIMIT + 1)), headers=headers
    )

    assert at_limit.status_code == 201, at_limit.text
    assert above.status_code == 413
    assert above.headers["Connection"] == "close"


async def test_a_validation_error_never_echoes_the_input(client: AsyncClient) -> None:
    long_name = "n" * 100_000
    made_up_key = "k" * 100_000

    response = await client.post("/items", json={"name": long_name})
    unknown = await client.post("/items", json={"name": "lamp", made_up_key: 1})

    assert response.status_code == 422
    assert len(response.content) < 1000
    assert response.json()["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["body", "name"],
            "msg": "String should have at most 200 characters",
            "ctx": {"max_length": 200},
        }
    ]
    assert unknown.status_code == 422
    assert len(unknown.content) < 1000
    assert "kkk" in unknown.text  # which key is wrong, but not all of it


async def test_thousands_of_unknown_fields_are_one_quick_error(client: AsyncClient) -> None:
    body = {"name": "lamp", **{f"field{number}": 1 for number in range(50_000)}}

    started = time.monotonic()
    response = await client.post("/items", json=body)
    took = time.monotonic() - started

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["type"] == "extra_forbidden"
    assert "and 49997 more" in error["msg"]
    assert took < QUICK


async def test_each_error_says_where_and_what(client: AsyncClient) -> None:
    response = await client.get("/items", params={"limit": "x", "offset": "-1"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "int_parsing",
            "loc": ["query", "limit"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
        },
        {
            "type": "greater_than_equal",
            "loc": ["query", "offset"],
            "msg": "Input should be greater than or equal to 0",
            "ctx": {"ge": 0},
        },
    ]


async def test_many_errors_are_answered_with_the_first_few() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "items", number, "k" * 1000), "msg": "Field required"}
        for number in range(50)
    ]

    response = await invalid_request(
        Request({"type": "http"}), RequestValidationError(errors, body={"anything": 1})
    )

    detail = json.loads(bytes(response.body))["detail"]
    assert len(detail) == MAX_REPORTED_ERRORS
    assert detail[3] == {
        "type": "missing",
        "loc": ["body", "items", 3, "k" * MAX_LOCATION_PART + "..."],
        "msg": "Field required",
    }


async def test_description_has_a_maximum_length(client: AsyncClient) -> None:
    longest = "d" * DESCRIPTION_MAX_LENGTH

    created = await client.post("/items", json={"name": "lamp", "description": longest})
    too_long = await client.post("/items", json={"name": "desk", "description": longest + "d"})
    patched = await client.patch(
        f"/items/{created.json()['id']}", json={"description": longest + "d"}
    )
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["ItemCreate"]

    assert created.status_code == 201
    assert (too_long.status_code, patched.status_code) == (422, 422)
    assert DESCRIPTION_MAX_LENGTH == 2000  # the contract documents it
    assert {"type": "string", "maxLength": 2000, "pattern": r"^[^\x00]*$"} in schema["properties"][
        "description"
    ]["anyOf"]
