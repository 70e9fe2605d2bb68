"""Prometheus metrics: requests by route and status, their latency{% if cookiecutter.connection_strategy != "per_request" %}, and the pool's figures{% endif %}.

Each app has a registry of its own (so apps made in one process, as the tests make them, never
clash); ``GET /metrics`` renders it.

Durations are kept as plain numbers (``Timings``) and turned into Prometheus histograms at each
scrape. prometheus-client's own Histogram and Counter take a lock per update, for threads, and
measured about ten times the cost per request; every duration here is recorded from the event
loop's thread, so no lock is needed.
"""

from bisect import bisect_left
{%- if cookiecutter.connection_strategy != "per_request" %}
from collections.abc import Callable, Iterator
{%- else %}
from collections.abc import Iterator
{%- endif %}
from itertools import accumulate

from prometheus_client import CollectorRegistry, ProcessCollector
{%- if cookiecutter.connection_strategy != "per_request" %}
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
{%- else %}
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
{%- endif %}
from prometheus_client.registry import Collector
{%- if cookiecutter.connection_strategy != "per_request" %}

from .schemas import PoolStats
{%- endif %}

# Seconds; from a pooled primary-key read (a millisecond) to a statement near its timeout.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
{%- if cookiecutter.connection_strategy != "per_request" %}
# Seconds a request waited for a connection: none at all, normally.
POOL_WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
{%- endif %}

# The route label of a request that matched no route: the paths clients make up must not make
# a series each.
UNMATCHED = "<unmatched>"


class Timings:
    """Durations by label values, counted into buckets; only ever updated from one thread."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._buckets = buckets
        self._bounds = [*(str(float(bound)) for bound in buckets), "+Inf"]  # "le" labels
        # Per label values: the sum of the durations, then how many fell in each bucket.
        self._series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, seconds: float, *labels: str) -> None:
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = [0.0] * (len(self._buckets) + 2)
        series[0] += seconds
        series[1 + bisect_left(self._buckets, seconds)] += 1

    def histogram(self, name: str, documentation: str, labels: list[str]) -> Metric:
        family = HistogramMetricFamily(name, documentation, labels=labels)
        for values, series in list(self._series.items()):
            cumulative = zip(self._bounds, accumulate(series[1:]), strict=True)
            family.add_metric(list(values), list(cumulative), sum_value=series[0])
        return family

    def counts(self, name: str, documentation: str, labels: list[str]) -> Metric:
        family = CounterMetricFamily(name, documentation, labels=labels)
        for values, series in list(self._series.items()):
            family.add_metric(list(values), sum(series[1:]))
        return family
{%- if cookiecutter.connection_strategy != "per_request" %}


# Observed by the database module each time a connection is lent; exposed by PoolCollector.
POOL_WAIT = Timings(POOL_WAIT_BUCKETS)
{%- endif %}


REQUEST_LABELS = ["method", "route", "status"]


class RequestCollector(Collector):
    """Requests answered and their latency, by method, route and status."""

    def __init__(self) -> None:
        self.timings = Timings(LATENCY_BUCKETS)

    def collect(self) -> Iterator[Metric]:
        yield self.timings.counts(
            "http_requests", "Requests answered, by method, route and status.", REQUEST_LABELS
        )
        yield self.timings.histogram(
            "http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            REQUEST_LABELS,
        )
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
        yield POOL_WAIT.histogram(
            "db_pool_wait_seconds", "Time a request waited for a connection from the pool.", []
        )
{%- endif %}


class Metrics:
    """The app's registry, with the request metrics the middleware records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, memory, open files of this process
        self._requests = RequestCollector()
        self.registry.register(self._requests)
        self.observe = self._requests.timings.observe  # (seconds, method, route, status)
