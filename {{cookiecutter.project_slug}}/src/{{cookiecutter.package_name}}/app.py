"""The application factory: the database's life, the middleware around every request, the
answers to failures, and the routers (one per resource, then the probes and metrics)."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware import Middleware

from . import items
from .database.core import open_database
{%- if cookiecutter.connection_strategy != "per_request" %}
from .database.pool_stats import PoolCollector
{%- endif %}
from .database.replica import Reads, ReplicaCollector, open_replica
from .observability.error_reports import start_error_reports
from .observability.metrics import Metrics
from .observability.tracing import NO_TELEMETRY, Tracing, tracing_configured
from .serving.draining import TrackRequestsInFlight
from .settings import DATABASE_CLOSE_TIMEOUT, Settings
from .web import health, prometheus
from .web.body_limit import BodySizeLimit
from .web.errors import install_error_handlers
from .web.middleware import RequestObserver

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics() if settings.metrics_enabled else None
    tracing = Tracing() if tracing_configured() else None
    start_error_reports(
        settings.sentry_dsn.get_secret_value(),
        settings.sentry_environment,
        settings.sentry_traces_sample_rate,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        opened = AsyncExitStack()
        db = await opened.enter_async_context(open_database(settings))
        try:
            replica = (
                await opened.enter_async_context(open_replica(settings, db))
                if settings.database_replica_url.get_secret_value()
                else None
            )
            if metrics is not None and replica is not None:
                metrics.registry.register(ReplicaCollector(replica))
{%- if cookiecutter.connection_strategy != "per_request" %}
            if metrics is not None:
                metrics.registry.register(PoolCollector(db.stats, db.pool_wait))
            if tracing is not None:
                db.pool_wait.on_wait = tracing.record_pool_wait
{%- endif %}
            # What start-up made lives as long as the app. Frozen, it is left out of the garbage
            # collector's full passes, which under load would scan all of it again and again,
            # each time a pause of the event loop that every request in flight waits out
            # (docs/production.md). Collected first, so that no garbage is kept for good.
            gc.collect()
            gc.freeze()
            yield {"db": db, "replica": replica, "reads": Reads(db, replica)}
        finally:
            gc.unfreeze()  # for the next app in this process, as in the tests
            await close_within(opened, tracing, DATABASE_CLOSE_TIMEOUT)

    app = FastAPI(
        title={{ cookiecutter.project_name | tojson }},
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry() if tracing is not None else NO_TELEMETRY,
        # Outermost first: every answer, a 413 or a draining 503 included, has its id and log line.
        middleware=[
            Middleware(RequestObserver, metrics=metrics),
            Middleware(TrackRequestsInFlight),
            Middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes),
        ],
    )
    install_error_handlers(app)
    # A request is matched against the routers in the order they are included, at a cost for
    # each route it passes: the resources come first, the probes after them. Each included router
    # also costs every request a matching pass of its own on FastAPI 0.137 and later
    # (fastapi/fastapi#15745): that cost is FastAPI's to remove.
    app.include_router(items.router)
    app.include_router(health.router)
    if metrics is not None:
        app.state.metrics = metrics
        app.include_router(prometheus.router)
    return app


async def close_within(opened: AsyncExitStack, tracing: Tracing | None, seconds: float) -> None:
    """Close gracefully, but not for longer than that: a server that stops answering would hold
    a graceful close for as long as it is gone. Cut short, the connections are dropped. The
    spans still queued are sent meanwhile, within the same time, or dropped."""
    spans_sent = tracing.close() if tracing is not None else None
    database_closed = False
    try:
        async with asyncio.timeout(seconds):
            await opened.aclose()
            database_closed = True
            if spans_sent is not None:
                await spans_sent
    except TimeoutError:
        if not database_closed:
            logger.warning("the database did not close within %s s: connections dropped", seconds)
        else:
            logger.warning("the spans still queued were not sent within %s s: dropped", seconds)
