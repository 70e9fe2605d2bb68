"""What happens around every request: its id, its log line and its metrics.

A plain ASGI middleware: Starlette's BaseHTTPMiddleware would cost far more on every request.
The request id is made here rather than by asgi-correlation-id, which would be one more
middleware around every request beside this one, which holds the request for its log line and
its metrics anyway.
"""

import logging
import os
import re
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..observability.logs import request_id
from ..observability.metrics import UNMATCHED, Metrics

logger = logging.getLogger("{{ cookiecutter.package_name }}.access")
errors = logging.getLogger("{{ cookiecutter.package_name }}.errors")

REQUEST_ID_HEADER = b"x-request-id"
# An id a client or proxy sends is kept when it is short and plain; anything else is replaced.
ACCEPTED_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
INTERNAL_ERROR = JSONResponse({"detail": "Internal Server Error"}, 500)


def incoming_id(scope: Scope) -> str:
    """The id the client or a proxy gave the request, if it is acceptable, else a new one."""
    value: bytes
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and ACCEPTED_ID.fullmatch(value):
            return value.decode("ascii")
    return os.urandom(16).hex()  # as random as uuid4().hex, and cheaper


class RequestObserver:
    """Gives each request an id (``X-Request-ID``, taken or made) that every log line of the
    request carries and the response echoes, logs one line when the response is done, and
    counts it in the metrics (if any).

    An error no handler answered is logged here, with the request's id and its traceback, and
    answered 500: it would otherwise be logged by the server, outside the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = incoming_id(scope)
        token = request_id.set(rid)
        header = (REQUEST_ID_HEADER, rid.encode("ascii"))
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            errors.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if response_started:
                raise  # the server can only cut the connection
            await INTERNAL_ERROR(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, status, seconds)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, path = scope["method"], scope["path"]
        if logger.isEnabledFor(logging.INFO):
            milliseconds = round(seconds * 1000, 2)
            logger.info(
                "%s %s %d %.2f ms",
                method,
                path,
                status,
                milliseconds,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": milliseconds,
                },
            )
        if self.metrics is not None:
            route = scope.get("route")
            self.metrics.observe(seconds, method, getattr(route, "path", UNMATCHED), str(status))
