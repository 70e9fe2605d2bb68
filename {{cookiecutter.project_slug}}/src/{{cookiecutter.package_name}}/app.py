"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import database, db_errors
from .errors import install_error_handlers
{%- if cookiecutter.connection_strategy == "per_request" %}
from .metrics import Metrics
{%- else %}
from .metrics import Metrics, PoolCollector
{%- endif %}
from .middleware import RequestObserver
from .routes import health, items
from .routes import metrics as metrics_route
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics() if settings.metrics_enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        async with database.open_database(settings) as db:
{%- if cookiecutter.connection_strategy != "per_request" %}
            if metrics is not None:
                metrics.registry.register(PoolCollector(db.stats))
{%- endif %}
            yield {"db": db}

    app = FastAPI(title={{ cookiecutter.project_name | tojson }}, lifespan=lifespan)
    app.add_middleware(RequestObserver, metrics=metrics)
    install_error_handlers(app, unavailable=db_errors.UNAVAILABLE, conflicts=db_errors.CONFLICTS)
    app.include_router(health.router)
    app.include_router(items.router)
    if metrics is not None:
        app.state.metrics = metrics
        app.include_router(metrics_route.router)
    return app
