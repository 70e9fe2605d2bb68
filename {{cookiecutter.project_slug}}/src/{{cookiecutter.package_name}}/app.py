"""The application factory."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware import Middleware

from . import database, db_errors
from .body_limit import BodySizeLimit
from .draining import TrackRequestsInFlight
from .errors import install_error_handlers
{%- if cookiecutter.connection_strategy == "per_request" %}
from .metrics import Metrics
{%- else %}
from .metrics import Metrics, PoolCollector
{%- endif %}
from .middleware import RequestObserver
from .routes import health, items
from .routes import metrics as metrics_route
from .settings import DATABASE_CLOSE_TIMEOUT, Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics() if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        opened = AsyncExitStack()
        db = await opened.enter_async_context(database.open_database(settings))
        try:
{%- if cookiecutter.connection_strategy != "per_request" %}
            if metrics is not None:
                metrics.registry.register(PoolCollector(db.stats))
{%- endif %}
            yield {"db": db}
        finally:
            await close_within(opened, DATABASE_CLOSE_TIMEOUT)

    app = FastAPI(
        title={{ cookiecutter.project_name | tojson }},
        lifespan=lifespan,
        # Outermost first: every answer, a 413 or a draining 503 included, has its id and log line.
        middleware=[
            Middleware(RequestObserver, metrics=metrics),
            Middleware(TrackRequestsInFlight),
            Middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes),
        ],
    )
    install_error_handlers(app, unavailable=db_errors.UNAVAILABLE, conflicts=db_errors.CONFLICTS)
    # A request is matched against the routes in the order they are added, at a cost for each
    # one it passes: the API's own come first, the probes' after them.
    items.routes.add_to(app)
    health.routes.add_to(app)
    if metrics is not None:
        app.state.metrics = metrics
        metrics_route.routes.add_to(app)
    return app


async def close_within(opened: AsyncExitStack, seconds: float) -> None:
    """Close gracefully, but not for longer than that: a server that stops answering would hold
    a graceful close for as long as it is gone. Cut short, the connections are dropped."""
    try:
        async with asyncio.timeout(seconds):
            await opened.aclose()
    except TimeoutError:
        logger.warning("the database did not close within %s s: connections dropped", seconds)
