"""How failures become answers: 503 when the database cannot serve (saying so when a write may
have been saved all the same), 409 on conflicts."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
UNAVAILABLE = "The database is unavailable; retry shortly."
OUTCOME_UNKNOWN = (
    "The connection to the database was lost while the change was being committed: it may or "
    "may not have been saved. Check before you retry."
)


class NameTaken(Exception):
    """An item with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an item named {name!r} already exists")


class CommitOutcomeUnknown(Exception):
    """The connection was lost while COMMIT was under way: the server may have committed."""


async def service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning(
        "database unavailable for %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    return retry_later(UNAVAILABLE)


async def outcome_unknown(request: Request, exc: Exception) -> JSONResponse:
    logger.warning(
        "commit outcome unknown for %s %s: %s",
        request.method,
        request.url.path,
        exc.__cause__ or exc,
    )
    return retry_later(OUTCOME_UNKNOWN)


def retry_later(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def conflict(request: Request, exc: Exception) -> JSONResponse:
    detail = str(exc) if isinstance(exc, NameTaken) else "The change conflicts with existing data."
    return JSONResponse({"detail": detail}, status_code=409)


def install_error_handlers(
    app: FastAPI,
    *,
    unavailable: tuple[type[Exception], ...],
    conflicts: tuple[type[Exception], ...],
) -> None:
    """Answer the driver's unavailability errors with 503 and its integrity errors with 409."""
    app.add_exception_handler(CommitOutcomeUnknown, outcome_unknown)
    for error in unavailable:
        app.add_exception_handler(error, service_unavailable)
    conflicting: tuple[type[Exception], ...] = (NameTaken, *conflicts)
    for error in conflicting:
        app.add_exception_handler(error, conflict)
