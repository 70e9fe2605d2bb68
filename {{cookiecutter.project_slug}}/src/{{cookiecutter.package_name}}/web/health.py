"""Liveness and readiness probes."""

import asyncio
{%- if cookiecutter.connection_strategy != "per_request" %}
import time
{%- endif %}
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel

from ..database.dependencies import Db
from ..database.errors import DatabaseUnavailable
{%- if cookiecutter.connection_strategy != "per_request" %}
from ..database.pool_stats import PoolStats
{%- endif %}
from ..database.replica import Replica, ReplicaHealth, ReplicaStatus
from ..serving import draining

router = APIRouter(prefix="/health", tags=["health"])

# Kubernetes gives a probe 1 s unless told otherwise: readiness answers sooner, whatever the
# database does.
READINESS_TIMEOUT = 0.8

# Checks still running after readiness answered: asyncio keeps only weak references to tasks.
_checks_left_running: set[asyncio.Task[None]] = set()


class Status(BaseModel):
    status: str


class Readiness(Status):
{%- if cookiecutter.connection_strategy != "per_request" %}
    pool: PoolStats
{%- endif %}
    # Reads go to the primary while the replica is not "ok": the service stays ready.
    replica: ReplicaHealth


@router.get("")
async def alive() -> Status:
    """The process answers; the database is not touched."""
    return Status(status="ok")


@router.get(
    "/ready",
    responses={503: {"description": "The database does not answer, or the service is draining"}},
    response_model_exclude_none=True,  # a figure the driver does not tell is left out
)
{%- if cookiecutter.connection_strategy == "per_request" %}
async def ready(db: Db, request: Request) -> Readiness:
    """The database accepts a new connection and answers a query within READINESS_TIMEOUT."""
    refuse_while_draining()
    if not await ended_in_time(db.ping()):
        raise DatabaseUnavailable("no answer to the readiness check in time")
    return Readiness(status="ok", replica=replica_health(request))
{%- else %}
async def ready(db: Db, request: Request) -> Readiness:
    """The database answers a query within READINESS_TIMEOUT; the pool's figures come along.

    With every connection lent out, the check may wait for one in vain: the service stays ready
    if one came back with the database's answer meanwhile, and the pool's figures say it is busy.
    A busy pool is no reason to leave the rotation: every replica would leave at once.
    """
    refuse_while_draining()
    asked = time.monotonic()
    if not await ended_in_time(db.ping()) and not db.busy_and_answering(since=asked):
        raise DatabaseUnavailable("no answer to the readiness check in time")
    return Readiness(status="ok", pool=db.stats(), replica=replica_health(request))
{%- endif %}


def replica_health(request: Request) -> ReplicaHealth:
    replica: Replica | None = request.state.replica
    return ReplicaHealth(status=ReplicaStatus.DISABLED) if replica is None else replica.health()


async def ended_in_time(check: Coroutine[Any, Any, None]) -> bool:
    """Whether `check` ended within READINESS_TIMEOUT; its error, if it ended with one, is
    raised. Past that it is left to end within its own bounds, not cancelled: not every driver
    stops a statement at once (some wait for the server to confirm a cancel, or run it in a
    thread), and the probe has had its answer."""
    task = asyncio.create_task(check)
    _checks_left_running.add(task)
    task.add_done_callback(forget)
    done, _ = await asyncio.wait({task}, timeout=READINESS_TIMEOUT)
    if done:
        task.result()
    return bool(done)


def forget(task: asyncio.Task[None]) -> None:
    _checks_left_running.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: an error after the answer is no news to anyone


def refuse_while_draining() -> None:
    """After SIGTERM the service still answers for a while, but asks not to be sent more."""
    if draining.started():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The service is shutting down.")
