"""How the service's own errors become answers: 503 when the database cannot serve (saying so
when a write may have been saved all the same), 409 on a conflict a repository names, 422 on a
bad request. Any other error is a bug: the request middleware logs it and answers 500."""

import logging
from typing import cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..database.errors import CommitOutcomeUnknown, Conflict, DatabaseUnavailable

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
UNAVAILABLE = "The database is unavailable; retry shortly."
OUTCOME_UNKNOWN = (
    "The connection to the database was lost while the change was being committed: it may or "
    "may not have been saved. Check before you retry."
)

# A 422 says where and what, never the input itself (FastAPI's default echoes it): a large body
# would make a larger answer. A body with thousands of mistakes gets the first few.
MAX_REPORTED_ERRORS = 10
# Beyond this, a part of an error's location is a key the client made up, not one of ours.
MAX_LOCATION_PART = 64


async def service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    cause = exc.__cause__ or exc  # the driver's error
    logger.warning(
        "database unavailable for %s %s: %s: %s",
        request.method,
        request.url.path,
        type(cause).__name__,
        cause,
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
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, exc).errors()  # installed for this error only
    detail = [
        {
            "type": error["type"],
            "loc": [shortened(part) for part in error["loc"]],
            "msg": error["msg"],
            **({"ctx": error["ctx"]} if "ctx" in error else {}),
        }
        for error in errors[:MAX_REPORTED_ERRORS]
    ]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def shortened(part: str | int) -> str | int:
    if isinstance(part, str) and len(part) > MAX_LOCATION_PART:
        return f"{part[:MAX_LOCATION_PART]}..."
    return part


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DatabaseUnavailable, service_unavailable)
    app.add_exception_handler(CommitOutcomeUnknown, outcome_unknown)  # a DatabaseUnavailable too
    app.add_exception_handler(Conflict, conflict)
