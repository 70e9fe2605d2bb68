"""Prometheus metrics: requests by route and status, their latency{% if cookiecutter.connection_strategy != "per_request" %}, and the pool's figures{% endif %}.

Each app has a registry of its own (so apps made in one process, as the tests make them, never
clash); ``GET /metrics`` renders it.
"""
{%- if cookiecutter.connection_strategy != "per_request" %}

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .schemas import PoolStats
{%- else %}

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
{%- endif %}

# Seconds; from a pooled primary-key read (a millisecond) to a statement near its timeout.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
{%- if cookiecutter.connection_strategy != "per_request" %}
# Seconds a request waited for a connection: none at all, normally.
POOL_WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# Observed by the database module each time a connection is lent; collected with the pool's
# figures (PoolCollector), so it is not registered anywhere by itself.
POOL_WAIT = Histogram(
    "db_pool_wait_seconds",
    "Time a request waited for a connection from the pool.",
    buckets=POOL_WAIT_BUCKETS,
    registry=None,
)
{%- endif %}

# The route label of a request that matched no route: the paths clients make up must not make
# a series each.
UNMATCHED = "<unmatched>"


class Metrics:
    """The app's registry, with the request metrics the middleware records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, memory, open files of this process
        self._requests = Counter(
            "http_requests",
            "Requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Looking a labelled series up costs a lock and a tuple; a request only does it once.
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self._requests.labels(*key),
                self._latency.labels(*key),
            )
        series[0].inc()
        series[1].observe(seconds)
{%- if cookiecutter.connection_strategy != "per_request" %}


class PoolCollector(Collector):
    """The pool's figures, read from the driver at each scrape, and the time spent waiting."""

    def __init__(self, stats: Callable[[], PoolStats]) -> None:
        self._stats = stats

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
        yield from POOL_WAIT.collect()
{%- endif %}
