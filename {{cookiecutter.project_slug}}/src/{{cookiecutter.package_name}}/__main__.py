"""``python -m {{ cookiecutter.package_name }}``: serve the API (see serving/server.py);
``python -m {{ cookiecutter.package_name }} migrate``: apply the migrations (see database/migrate.py).

With DATABASE_URL unset or empty, an embedded PostgreSQL is started with its data under
``.pgdata/`` and migrated first, so the service runs on a machine with nothing else installed.
The embedded server is a development dependency: where it is not installed (the image), the
service says to set DATABASE_URL instead.
"""

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .database import migrate
from .database.urls import hide_password
from .observability.logs import configure_logging
from .serving.server import exit_on_sigterm, serve
from .settings import Settings, load_settings

logger = logging.getLogger("{{ cookiecutter.package_name }}")

EMBEDDED_DATA_DIR = Path(".pgdata")


@contextmanager
def database(settings: Settings) -> Iterator[None]:
    """Make sure DATABASE_URL names a migrated database for as long as the block runs."""
    if settings.database_url.get_secret_value():
        yield
        return
    try:
        from .database.embedded import embedded_server
    except ModuleNotFoundError:
        raise SystemExit(
            "DATABASE_URL is not set: set it to postgresql://user:password@host:port/database "
            "(the embedded PostgreSQL is for development only: `uv sync` installs it)"
        ) from None
    with embedded_server(EMBEDDED_DATA_DIR.resolve()) as server:
        url = server.get_uri()
        logger.info(
            "DATABASE_URL is empty: started embedded PostgreSQL in %s (%s)",
            EMBEDDED_DATA_DIR.resolve(),
            hide_password(url),
        )
        migrate.upgrade_to_head(url)
        logger.info("embedded PostgreSQL is migrated to the latest revision")
        # The workers read their settings from the environment.
        os.environ["DATABASE_URL"] = url
        yield


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.package_name }}", description="Serve the API, or migrate."
    )
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    if parser.parse_args().command == "migrate":
        migrate.main()
        return
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    exit_on_sigterm()
    try:
        with database(settings):
            serve(settings)
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has shut down
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
