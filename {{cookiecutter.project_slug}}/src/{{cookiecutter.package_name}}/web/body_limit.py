"""A bound on the size of request bodies: 413 for a larger one, without reading the rest of it.

Pure ASGI, so that a request without a chunked body pays only for a look at its headers.
FastAPI's own `max_body_size` answers a declared oversize in plain text and keeps the connection
open with the unread body on it; this answers in JSON, as every other error does, and closes it.
"""

from collections.abc import Awaitable

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The rest of the body will not be read: the client is told to stop sending it.
CLOSE_CONNECTION = {"Connection": "close"}


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"The request body is larger than {max_bytes} bytes."
        self.refusal = JSONResponse(
            {"detail": self.detail}, status.HTTP_413_CONTENT_TOO_LARGE, CLOSE_CONNECTION
        )

    # Not a coroutine: it hands back the app's own, so that it adds no frame for the request's
    # every suspension and resumption to pass through.
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        length, chunked = body_framing(scope)
        if length is not None and length > self.max_bytes:
            return self.refusal(scope, receive, send)
        if chunked:
            return self.app(scope, self._counting(receive), send)
        # No body, or one the server cuts at its Content-Length, which is within the limit.
        return self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the app's read of the body: answered as any HTTPException.
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE, self.detail, CLOSE_CONNECTION
                )
            return message

        return receive_within_limit


def body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The request's Content-Length if it has a valid one, and whether its body is chunked."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked
