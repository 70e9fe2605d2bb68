"""One measurement of one target: serve it, load it with reads then writes, stop it."""

import json
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.baking import run

from .load import LoadResult, run_wrk
from .pgbouncer import pgbouncer
from .postgres import SEED_ITEMS, PeakConnections, Server
from .serving import free_port, http_ok, running
from .targets import Target


@dataclass(frozen=True)
class Settings:
    seconds: int
    warmup: int
    connections: int
    pool_size: int
    pool_timeout: float = 5.0


@dataclass
class Measurement:
    target: str
    round: int
    reads: LoadResult | None = None
    writes: LoadResult | None = None
    peak_connections: int | None = None
    db_rate: float | None = None  # queries/s, for the DB ceilings
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "round": self.round,
            "reads": self.reads.as_dict() if self.reads else None,
            "writes": self.writes.as_dict() if self.writes else None,
            "peak_connections": self.peak_connections,
            "db_rate": self.db_rate,
            "failure": self.failure,
        }


def headline(failure: str) -> str:
    """A failure in one line: what failed, and the last line of its output (the error)."""
    lines = [line.strip() for line in failure.splitlines() if line.strip()]
    return lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"


def measure(
    target: Target, round_: int, *, server: Server, settings: Settings, logs: Path
) -> Measurement:
    """Never raises for a target that cannot be served or measured: the failure is recorded,
    with the end of its log, and the next target goes on."""
    measurement = Measurement(target.id, round_)
    log = logs / f"{target.id}-round{round_}.log"
    try:
        if target.is_http:
            _measure_http(target, measurement, server=server, settings=settings, log=log)
        else:
            measurement.db_rate = _db_ceiling(target, settings)
    except Exception as error:  # any failure is a result to report
        measurement.failure = f"{type(error).__name__}: {error}"
    return measurement


def _measure_http(
    target: Target, measurement: Measurement, *, server: Server, settings: Settings, log: Path
) -> None:
    with serving(target, server=server, settings=settings, log=log) as base_url:
        load = {"connections": settings.connections}
        if settings.warmup:
            run_wrk("reads", base_url, seconds=settings.warmup, args=[str(SEED_ITEMS)], **load)
        with ExitStack() as stack:
            peak = (
                stack.enter_context(PeakConnections(server, target.database_url))
                if target.database_url
                else None
            )
            measurement.reads = run_wrk(
                "reads", base_url, seconds=settings.seconds, args=[str(SEED_ITEMS)], **load
            )
            prefix = f"{target.id}-r{measurement.round}-{secrets.token_hex(3)}"
            measurement.writes = run_wrk(
                "writes", base_url, seconds=settings.seconds, args=[prefix], **load
            )
        measurement.peak_connections = peak.peak if peak else None


@contextmanager
def serving(target: Target, *, server: Server, settings: Settings, log: Path) -> Iterator[str]:
    """The target served by one process (behind its own PgBouncer for the pgbouncer
    strategy); yields its base URL."""
    with ExitStack() as stack:
        database_url = target.database_url or ""
        if target.behind_pgbouncer:
            database_url = stack.enter_context(
                pgbouncer(server, database_url, log.with_suffix(".pgbouncer.log"))
            )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            "DATABASE_URL": database_url,
            "DB_POOL_MIN_SIZE": str(settings.pool_size),
            "DB_POOL_MAX_SIZE": str(settings.pool_size),
            "DB_POOL_TIMEOUT": str(settings.pool_timeout),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WORKERS": "1",
            "LOG_LEVEL": "warning",
            # Stopped after each load: no need to go on serving for load balancers first.
            "DRAIN_DELAY": "0",
            **dict(target.env),
        }
        stack.enter_context(
            running(
                target.command,
                cwd=target.bake.path,
                env=env,
                log=log,
                ready=http_ok(base_url + target.ready_path),
                what=target.id,
            )
        )
        yield base_url


def _db_ceiling(target: Target, settings: Settings) -> float:
    assert target.database_url
    assert target.driver
    output = run(
        [
            *target.command,
            target.driver,
            str(settings.pool_size),
            str(settings.seconds),
            str(settings.warmup),
            str(SEED_ITEMS),
        ],
        target.bake.path,
        timeout=settings.seconds + settings.warmup + 120,
        DATABASE_URL=target.database_url,
    )
    # The figures are the last line printed as JSON; warnings may come on stderr around it.
    figures = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    return float(figures["queries"]) / float(figures["seconds"])
