"""Whether this process is draining, and what that means for requests.

The server starts the drain on SIGTERM. From then on readiness fails, so that load balancers
stop sending here. When the drain runs out of time, every request still waiting for its answer
is answered 503 at once, even one whose work cannot be interrupted (a thread blocked on a
database that stopped answering): its client may retry elsewhere, and nothing it does later is
sent.
"""

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CUT_SHORT = JSONResponse(
    {
        "detail": "The service shut down before this request was done: a change it makes may "
        "or may not have been applied. Retry shortly."
    },
    503,
    {"Retry-After": "1", "Connection": "close"},
)

_started = False
_in_flight: set["InFlight"] = set()


def start() -> None:
    global _started  # one flag per process, as the signal that sets it
    _started = True


def started() -> bool:
    return _started


async def cut_short_requests_in_flight() -> None:
    """Answer 503 to every request that has not begun its own answer."""
    waiting = [request for request in _in_flight if not request.answering]
    await asyncio.gather(*(request.cut_short() for request in waiting), return_exceptions=True)


class InFlight:
    """A request between its arrival and its answer."""

    __slots__ = ("_receive", "_scope", "_send", "answering", "was_cut_short")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self.answering = False
        self.was_cut_short = False

    async def send(self, message: Message) -> None:
        if self.was_cut_short:
            return  # the client has had its 503
        self.answering = True
        await self._send(message)

    async def cut_short(self) -> None:
        self.was_cut_short = True
        await CUT_SHORT(self._scope, self._receive, self._send)


class TrackRequestsInFlight:
    """Keeps the requests in flight known, so that the end of a drain can answer them. A request
    cut short ends quietly, whatever its unwinding raises (the server's cancellation, or a
    driver failing on a connection closed under it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = InFlight(scope, receive, send)
        _in_flight.add(request)
        try:
            await self.app(scope, receive, request.send)
        except (asyncio.CancelledError, Exception):
            if not request.was_cut_short:
                raise
        finally:
            _in_flight.discard(request)
