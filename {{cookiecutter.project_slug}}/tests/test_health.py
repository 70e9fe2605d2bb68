"""Liveness and readiness."""

from httpx import AsyncClient


async def test_liveness_answers_ok(client: AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

{%- if cookiecutter.connection_strategy == "per_request" %}


async def test_readiness_reports_the_database(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
{%- else %}


async def test_readiness_reports_the_database_and_pool(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    pool = body["pool"]
    assert pool["in_use"] == 0
    assert pool["max_size"] == 4
    assert 1 <= pool["size"] <= 4
    assert pool["idle"] == pool["size"]
    # The figures the driver tells, and nothing it does not.
    assert set(pool) == {"size", "idle", "in_use", "min_size", "max_size"}{% if cookiecutter.db_driver not in ["asyncpg", "databases"] %} | {"waiting"}{% endif %}
{%- endif %}
