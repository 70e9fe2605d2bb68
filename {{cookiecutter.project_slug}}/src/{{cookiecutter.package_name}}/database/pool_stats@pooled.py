"""What the pool tells about itself: its figures (on /health/ready) and the time requests wait
for a connection, both exported to Prometheus by ``PoolCollector``."""

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel

from ..observability.metrics import Timings

# Seconds a request waited for a connection: none at all, normally.
POOL_WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class PoolWait(Timings):
    """Seconds each loan waited for a connection: one per pool, exposed by its PoolCollector,
    and told to ``on_wait`` too when it is set (tracing: an event on the request's span)."""

    def __init__(self) -> None:
        super().__init__(POOL_WAIT_BUCKETS)
        self.on_wait: Callable[[float], None] | None = None

    def observe(self, seconds: float, *labels: str) -> None:
        super().observe(seconds, *labels)
        if self.on_wait is not None:
            self.on_wait(seconds)


class PoolStats(BaseModel):
    """What the driver tells about its pool; a figure it does not know is None, and is left out
    of the answer and the metrics."""

    size: int | None = None
    idle: int | None = None
    in_use: int | None = None
    waiting: int | None = None
    min_size: int | None = None
    max_size: int | None = None


class PoolCollector(Collector):
    """The pool's figures, read from the driver at each scrape, and the time spent waiting."""

    def __init__(self, stats: Callable[[], PoolStats], waits: PoolWait) -> None:
        self._stats = stats
        self._waits = waits

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        for name, documentation, value in [
            ("db_pool_size", "Connections the pool holds.", stats.size),
            ("db_pool_idle", "Connections ready to be lent.", stats.idle),
            ("db_pool_in_use", "Connections lent to requests.", stats.in_use),
            ("db_pool_waiting", "Requests waiting for a connection.", stats.waiting),
            ("db_pool_min_size", "Connections the pool keeps open.", stats.min_size),
            ("db_pool_max_size", "Most connections the pool may hold.", stats.max_size),
        ]:
            if value is not None:  # what the driver does not tell is left out
                yield GaugeMetricFamily(name, documentation, value=value)
        yield self._waits.histogram(
            "db_pool_wait_seconds", "Time a request waited for a connection from the pool.", []
        )
