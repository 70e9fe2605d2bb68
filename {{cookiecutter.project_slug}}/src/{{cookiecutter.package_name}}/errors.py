"""How failures become answers: 503 when the database cannot serve, 409 on conflicts."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1


class NameTaken(Exception):
    """An item with this name exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an item named {name!r} already exists")


async def service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning(
        "database unavailable for %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    return JSONResponse(
        {"detail": "The database is unavailable; retry shortly."},
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
    for error in unavailable:
        app.add_exception_handler(error, service_unavailable)
    conflicting: tuple[type[Exception], ...] = (NameTaken, *conflicts)
    for error in conflicting:
        app.add_exception_handler(error, conflict)
