"""``python -m {{ cookiecutter.package_name }}``: serve the API (see server.py).

With DATABASE_URL unset or empty, an embedded PostgreSQL is started with its data under
``.pgdata/`` and migrated first, so the service runs on a machine with nothing else installed.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .embedded import embedded_server
from .logs import configure_logging
from .migrate import upgrade_to_head
from .server import exit_on_sigterm, serve
from .settings import Settings
from .urls import hide_password

logger = logging.getLogger("{{ cookiecutter.package_name }}")

EMBEDDED_DATA_DIR = Path(".pgdata")


@contextmanager
def database(settings: Settings) -> Iterator[None]:
    """Make sure DATABASE_URL names a migrated database for as long as the block runs."""
    if settings.database_url.get_secret_value():
        yield
        return
    with embedded_server(EMBEDDED_DATA_DIR.resolve()) as server:
        url = server.get_uri()
        logger.info(
            "DATABASE_URL is empty: started embedded PostgreSQL in %s (%s)",
            EMBEDDED_DATA_DIR.resolve(),
            hide_password(url),
        )
        upgrade_to_head(url)
        logger.info("embedded PostgreSQL is migrated to the latest revision")
        # The workers read their settings from the environment.
        os.environ["DATABASE_URL"] = url
        yield


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    exit_on_sigterm()
    try:
        with database(settings):
            serve(settings)
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has shut down
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
