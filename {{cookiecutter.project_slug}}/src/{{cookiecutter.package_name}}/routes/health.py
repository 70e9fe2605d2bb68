"""Liveness and readiness probes."""

from fastapi import APIRouter

from ..dependencies import Db
from ..schemas import Readiness, Status

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def alive() -> Status:
    """The process answers; the database is not touched."""
    return Status(status="ok")


@router.get("/ready", responses={503: {"description": "The database does not answer"}})
async def ready(db: Db) -> Readiness:
    """The database answers a query; the pool's figures come along."""
    await db.ping()
    return Readiness(status="ok", pool=db.stats())
