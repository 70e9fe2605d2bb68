"""Prometheus metrics: a registry per app, with the requests by route and status and their
latency.

Each app has a registry of its own (so apps made in one process, as the tests make them, never
clash); ``GET /metrics`` renders it.

Durations are kept as plain numbers (``Timings``) and turned into Prometheus histograms at each
scrape. prometheus-client's own Histogram and Counter take a lock per update, for threads, and
cost far more per request; every duration here is recorded from the event loop's thread, so no
lock is needed.
"""

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

# Seconds; from a pooled primary-key read (a millisecond) to a statement near its timeout.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

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


class Metrics:
    """The app's registry, with the request metrics the middleware records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, memory, open files of this process
        self._requests = RequestCollector()
        self.registry.register(self._requests)
        self.observe = self._requests.timings.observe  # (seconds, method, route, status)
