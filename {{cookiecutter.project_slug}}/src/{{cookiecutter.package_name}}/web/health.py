"""Liveness and readiness probes."""

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from ..database.dependencies import Db
{%- if cookiecutter.connection_strategy != "per_request" %}
from ..database.pool_stats import PoolStats
{%- endif %}
from ..serving import draining

router = APIRouter(prefix="/health", tags=["health"])


class Status(BaseModel):
    status: str
{%- if cookiecutter.connection_strategy != "per_request" %}


class Readiness(Status):
    pool: PoolStats
{%- endif %}


@router.get("")
async def alive() -> Status:
    """The process answers; the database is not touched."""
    return Status(status="ok")


@router.get(
    "/ready",
    responses={503: {"description": "The database does not answer, or the service is draining"}},
{%- if cookiecutter.connection_strategy != "per_request" %}
    response_model_exclude_none=True,  # a figure the driver does not tell is left out
{%- endif %}
)
{%- if cookiecutter.connection_strategy == "per_request" %}
async def ready(db: Db) -> Status:
    """The database accepts a new connection and answers a query."""
    refuse_while_draining()
    await db.ping()
    return Status(status="ok")
{%- else %}
async def ready(db: Db) -> Readiness:
    """The database answers a query; the pool's figures come along."""
    refuse_while_draining()
    await db.ping()
    return Readiness(status="ok", pool=db.stats())
{%- endif %}


def refuse_while_draining() -> None:
    """After SIGTERM the service still answers for a while, but asks not to be sent more."""
    if draining.started():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The service is shutting down.")
