"""Serving the app with uvicorn, and draining it on SIGTERM.

After SIGTERM, each process that serves requests:

1. answers 503 on /health/ready at once, and goes on serving for DRAIN_DELAY seconds, so that
   load balancers stop sending before it stops listening;
2. lets uvicorn shut down: stop listening, close idle connections, and wait for the requests in
   flight, as long as DRAIN_TIMEOUT leaves time to close the database and exit;
3. answers 503 to the requests still waiting for their answer then, and uvicorn cancels them;
4. closes the database, in the app's lifespan, within `DATABASE_CLOSE_TIMEOUT` seconds (and,
   meanwhile, sends the spans still queued, when traces are exported);
5. exits with status 0. Should anything still hold the process `EXIT_TIME` seconds before
   DRAIN_TIMEOUT (a thread blocked on a database that stopped answering cannot be cancelled),
   it is cut off then, with status 0 all the same; the time left is for the process to end.

Ctrl-C skips the delay: uvicorn shuts down at once. With WORKERS > 1, each worker process is
such a server, and the supervisor passes SIGTERM on to them (see supervisor.py).

Uvicorn's public API runs a server (`Config`, `Server.run`) and bounds its wait for requests
(`timeout_graceful_shutdown`), but has no hook between a signal and its shutdown: it stops
listening as soon as SIGTERM arrives (a hook was proposed in encode/uvicorn#2242, not merged).
So `DrainingServer` overrides `handle_exit`, the handler uvicorn installs for its signals, and
uses its `started` and `should_exit` flags; nothing else of uvicorn's is touched. The version
is pinned to a minor release, and tests/test_shutdown.py pins the behaviour (readiness failing
at once, requests served through the delay, uvicorn's own shutdown run before the exit): an
upgrade that changes any of the three fails it.
"""

import asyncio
import logging
import os
import signal
import socket
import threading
from concurrent.futures import Future
from contextlib import suppress
from functools import partial
from types import FrameType

import uvicorn

from ..observability.logs import logging_config
from ..settings import DATABASE_CLOSE_TIMEOUT, EXIT_TIME, Settings
from . import draining
from .supervisor import supervise

logger = logging.getLogger(__name__)

APP_FACTORY = "{{ cookiecutter.package_name }}.app:create_app"


def serve(settings: Settings) -> None:
    """Serve on HOST:PORT until SIGTERM or Ctrl-C, in WORKERS processes."""
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=logging_config(settings.log_level, settings.log_format),
        timeout_graceful_shutdown=time_for_requests(settings),
    )
    if settings.workers == 1:
        DrainingServer(config, settings).run()
        return
    listening = config.bind_socket()
    supervise(
        partial(serve_in_worker, config, settings, listening),
        settings.workers,
        listening=listening,
        # The workers are gone by then; the last second is the supervisor's, to exit.
        stop_within=settings.drain_timeout - 1,
    )


def serve_in_worker(config: uvicorn.Config, settings: Settings, listening: socket.socket) -> None:
    config.configure_logging()
    # Ctrl-C in a terminal reaches the workers too; uvicorn raises it again once it has shut down.
    with suppress(KeyboardInterrupt):
        DrainingServer(config, settings).run(sockets=[listening])


def time_for_requests(settings: Settings) -> int:
    """Seconds uvicorn waits for the requests in flight once it has stopped listening."""
    reserve = DATABASE_CLOSE_TIMEOUT + EXIT_TIME
    return settings.drain_timeout - settings.drain_delay - reserve


class DrainingServer(uvicorn.Server):
    """Uvicorn's server, which drains on SIGTERM rather than stop listening at once."""

    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config)
        self.settings = settings
        self.drain_under_way: Future[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM:
            super().handle_exit(sig, frame)  # Ctrl-C: shut down at once, as uvicorn does
            return
        if draining.started():
            return  # a repeated SIGTERM (to the whole process group, say) changes nothing
        draining.start()
        logger.info(
            "SIGTERM: draining; serving on for %d s with readiness failing, exiting within %d s",
            self.settings.drain_delay,
            self.settings.drain_timeout,
        )
        exit_at_the_latest(self.settings.drain_timeout - EXIT_TIME)
        # Signal handlers run between two steps of the event loop: the drain runs in it.
        loop = asyncio.get_running_loop()
        self.drain_under_way = asyncio.run_coroutine_threadsafe(self.drain(), loop)

    async def drain(self) -> None:
        if self.started:  # a server still starting has nothing to go on serving
            await asyncio.sleep(self.settings.drain_delay)
        self.should_exit = True  # uvicorn stops listening and waits for the requests in flight
        await asyncio.sleep(time_for_requests(self.settings))
        await draining.cut_short_requests_in_flight()  # just before uvicorn cancels them


def exit_at_the_latest(seconds: float) -> None:
    def exit_now() -> None:
        logger.warning("%s s after SIGTERM, something still waits: exiting now", seconds)
        os._exit(0)  # the drain is over; what still waits cannot be unwound

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True  # never what keeps the process alive
    timer.start()


def exit_on_sigterm() -> None:
    """Before uvicorn serves and after it has shut down (starting or stopping the embedded
    PostgreSQL), SIGTERM ends the process by unwinding, as Ctrl-C does, so that the embedded
    server is stopped too; with status 0, as after a drain."""

    def exit_(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, exit_)
