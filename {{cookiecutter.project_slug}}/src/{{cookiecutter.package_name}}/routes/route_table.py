"""Path operations declared as on an `APIRouter`, then added to the app itself.

FastAPI 0.137 and later keep an included router as a node of its own (fastapi/fastapi#15745),
and every request is matched through it: that costs 6 to 12% of the instructions of a read
(`GET /items/{id}`), 3 to 5% of a write's, depending on the driver. Routes added to the app are
matched directly, and as the app declares them, `app.dependency_overrides` applies to them as to
any route: copying an APIRouter's routes onto the app would keep the router's (none) instead.
fastapi/fastapi#16159 would spare a request the routers it cannot match, not this cost.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

Endpoint = Callable[..., Any]


class RouteTable:
    def __init__(self, *, prefix: str = "", tags: list[str] | None = None) -> None:
        self.prefix = prefix
        self.tags = tags or []
        self._routes: list[tuple[str, Endpoint, dict[str, Any]]] = []

    def route(
        self, path: str, *, methods: list[str], **options: Any
    ) -> Callable[[Endpoint], Endpoint]:
        """Takes what `APIRouter.api_route` takes; the endpoint is left as it is."""

        def declare(endpoint: Endpoint) -> Endpoint:
            self._routes.append((self.prefix + path, endpoint, {"methods": methods, **options}))
            return endpoint

        return declare

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, methods=["POST"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.route(path, methods=["DELETE"], **options)

    def add_to(self, app: FastAPI) -> None:
        for path, endpoint, options in self._routes:
            app.add_api_route(path, endpoint, tags=list(self.tags), **options)
