"""The items API: every endpoint and status code of the contract."""

import pytest
from fastapi import HTTPException
from httpx import AsyncClient

from {{ cookiecutter.package_name }}.items.dependencies import get_items
from {{ cookiecutter.package_name }}.settings import Settings

from .conftest import serve
from .postgres import psql

BIGINT_MAX = 2**63 - 1


async def create(
    client: AsyncClient, name: str, description: str | None = None
) -> dict[str, object]:
    response = await client.post("/items", json={"name": name, "description": description})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_returns_the_stored_item(client: AsyncClient, database_url: str) -> None:
    item = await create(client, "lamp", "a desk lamp")

    assert set(item) == {"id", "name", "description", "created_at"}
    assert (item["name"], item["description"]) == ("lamp", "a desk lamp")
    assert psql(database_url, f"SELECT name FROM items WHERE id = {item['id']}") == "lamp"


async def test_create_without_description(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": "lamp"})

    assert response.status_code == 201
    assert response.json()["description"] is None


async def test_duplicate_name_is_409(client: AsyncClient, database_url: str) -> None:
    await create(client, "lamp")

    response = await client.post("/items", json={"name": "lamp"})

    assert response.status_code == 409
    assert "lamp" in response.json()["detail"]
    assert psql(database_url, "SELECT count(*) FROM items") == "1"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": None},
        {"name": 5},
        {"name": "nul\x00byte"},
        {"name": "ok", "description": "nul\x00byte"},
        {"name": "ok", "unknown": 1},
    ],
    ids=[
        "missing",
        "empty",
        "too-long",
        "null",
        "number",
        "nul-in-name",
        "nul-in-description",
        "unknown-field",
    ],
)
async def test_bad_bodies_are_422(client: AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/items", json=body)

    assert response.status_code == 422


async def test_control_characters_other_than_nul_are_stored(client: AsyncClient) -> None:
    name = "tab\there, bell\x07, newline\n, escape\x1b, emoji \U0001f600"

    item = await create(client, name, "\x01\x7f")

    fetched = (await client.get(f"/items/{item['id']}")).json()
    assert (fetched["name"], fetched["description"]) == (name, "\x01\x7f")


async def test_name_of_200_characters_is_accepted(client: AsyncClient) -> None:
    await create(client, "x" * 200)


async def test_get_one(client: AsyncClient) -> None:
    item = await create(client, "lamp", "desk")

    response = await client.get(f"/items/{item['id']}")

    assert response.status_code == 200
    assert response.json() == item


@pytest.mark.parametrize("item_id", ["424242", str(BIGINT_MAX)])
async def test_missing_item_is_404(client: AsyncClient, item_id: str) -> None:
    assert (await client.get(f"/items/{item_id}")).status_code == 404
    assert (await client.patch(f"/items/{item_id}", json={"name": "x"})).status_code == 404
    assert (await client.delete(f"/items/{item_id}")).status_code == 404


@pytest.mark.parametrize("item_id", ["0", "-1", str(BIGINT_MAX + 1), "1e3", "abc", "9" * 400])
async def test_ids_outside_the_column_are_422(client: AsyncClient, item_id: str) -> None:
    assert (await client.get(f"/items/{item_id}")).status_code == 422
    assert (await client.patch(f"/items/{item_id}", json={})).status_code == 422
    assert (await client.delete(f"/items/{item_id}")).status_code == 422


async def test_list_is_newest_first_and_paged(client: AsyncClient) -> None:
    for name in ["first", "second", "third"]:
        await create(client, name)

    everything = (await client.get("/items")).json()
    page = (await client.get("/items", params={"limit": 1, "offset": 1})).json()

    assert [item["name"] for item in everything] == ["third", "second", "first"]
    assert [item["name"] for item in page] == ["second"]


async def test_list_defaults_to_20(client: AsyncClient, database_url: str) -> None:
    psql(database_url, "INSERT INTO items (name) SELECT 'item ' || i FROM generate_series(1, 25) i")

    assert len((await client.get("/items")).json()) == 20
    assert len((await client.get("/items", params={"limit": 100})).json()) == 25


async def test_offset_past_the_end_is_empty(client: AsyncClient) -> None:
    await create(client, "lamp")

    for offset in [1, BIGINT_MAX]:
        response = await client.get("/items", params={"offset": offset})
        assert response.status_code == 200
        assert response.json() == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"offset": -1}, {"offset": BIGINT_MAX + 1}],
    ids=["limit-0", "limit-101", "limit-text", "offset-negative", "offset-beyond-bigint"],
)
async def test_bad_paging_is_422(client: AsyncClient, params: dict[str, int | str]) -> None:
    assert (await client.get("/items", params=params)).status_code == 422


async def test_patch_changes_only_what_is_given(client: AsyncClient) -> None:
    item = await create(client, "lamp", "desk")

    renamed = (await client.patch(f"/items/{item['id']}", json={"name": "light"})).json()
    cleared = (await client.patch(f"/items/{item['id']}", json={"description": None})).json()
    untouched = await client.patch(f"/items/{item['id']}", json={})

    assert (renamed["name"], renamed["description"]) == ("light", "desk")
    assert (cleared["name"], cleared["description"]) == ("light", None)
    assert untouched.status_code == 200
    assert untouched.json() == cleared
    assert cleared["created_at"] == item["created_at"]


async def test_patch_to_a_taken_name_is_409_and_changes_nothing(client: AsyncClient) -> None:
    await create(client, "lamp")
    chair = await create(client, "chair", "wooden")

    response = await client.patch(
        f"/items/{chair['id']}", json={"name": "lamp", "description": "x"}
    )

    assert response.status_code == 409
    assert (await client.get(f"/items/{chair['id']}")).json() == chair


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"name": ""}, {"name": "nul\x00"}, {"id": 5}],
    ids=["null-name", "empty-name", "nul", "unknown-field"],
)
async def test_bad_patch_is_422(client: AsyncClient, body: dict[str, object]) -> None:
    item = await create(client, "lamp")

    assert (await client.patch(f"/items/{item['id']}", json=body)).status_code == 422


async def test_delete(client: AsyncClient) -> None:
    item = await create(client, "lamp")

    response = await client.delete(f"/items/{item['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/items/{item['id']}")).status_code == 404


async def test_dependency_overrides_reach_the_routes(settings: Settings) -> None:
    """What tests of an app built on this one rely on: `app.dependency_overrides` replaces a
    dependency of the item routes, which the app includes with their APIRouter."""

    async def refuse() -> None:
        raise HTTPException(418, "overridden")

    async with serve(settings, {get_items: refuse}) as client:
        response = await client.post("/items", json={"name": "teapot"})

    assert (response.status_code, response.json()) == (418, {"detail": "overridden"})
