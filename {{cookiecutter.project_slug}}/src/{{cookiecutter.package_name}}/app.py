"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware import Middleware

from . import database, db_errors
from .body_limit import BodySizeLimit
from .errors import install_error_handlers
from .routes import health, items
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        async with database.open_database(settings) as db:
            yield {"db": db}

    app = FastAPI(
        title={{ cookiecutter.project_name | tojson }},
        lifespan=lifespan,
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)],
    )
    install_error_handlers(app, unavailable=db_errors.UNAVAILABLE, conflicts=db_errors.CONFLICTS)
    app.include_router(health.router)
    app.include_router(items.router)
    return app
