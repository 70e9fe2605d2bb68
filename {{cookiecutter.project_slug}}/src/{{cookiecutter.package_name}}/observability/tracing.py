"""Traces over OTLP/HTTP, set up when an endpoint is given, the standard way: by
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), with every other
``OTEL_*`` variable (service name, sampler, headers, resource attributes, timeouts) read by
OpenTelemetry's SDK from the process's environment. Unset, the SDK is not even imported, and a
request pays nothing for tracing.

What a trace holds: one server span per request (FastAPI's own telemetry, which continues a
caller's W3C ``traceparent``), one client span per statement (the driver's own instrumentation:
the statement's text, never its parameters), and, with a pool, the wait for a connection as an
event on the request's span. Spans leave in batches from a thread of their own, through a
bounded queue: a collector that is down, slow or refusing costs spans and a warning, never a
request. Each process (each worker) has its own provider and exporter.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Callable, MutableMapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "{{ cookiecutter.project_slug }}"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes and scrapes come every few seconds from machines: traced, they would bury the requests.
NOT_TRACED = ("/health/", "/metrics")
# FastAPI's telemetry, off: otherwise it looks for a global provider at every request.
NO_TELEMETRY: "TelemetryConfig" = {"tracing": False, "metrics": False, "logs": False}


def tracing_configured() -> bool:
    """Whether traces are to be exported: an OTLP endpoint is set, and the SDK not disabled."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


class Tracing:
    """This process's tracer provider, exporting to the OTLP endpoint, for FastAPI's telemetry
    and the database driver's instrumentation."""

    def __init__(self) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"process.pid": os.getpid()})  # which worker made a span
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
        # Not flushed at exit by the SDK, which would wait up to 30 s: close() does it, bounded.
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(self.provider)  # for spans of the app's own
        instrument_the_driver(self.provider)
        self._current_span = trace.get_current_span

    def fastapi_telemetry(self) -> "TelemetryConfig":
        """FastAPI's telemetry: a server span per request. Its spans per dependency, endpoint
        and serialization are left off, for their cost: turn on ``operation_spans`` to see
        where a request's time goes inside the app."""
        return {
            "tracer_provider": self.provider,
            "operation_spans": False,
            "metrics": False,  # Prometheus has them (observability/metrics.py)
            "logs": False,  # the log lines carry the trace's ids instead (observability/logs.py)
            "exclude": not_traced,
        }

    def record_pool_wait(self, seconds: float) -> None:
        """The wait for a pooled connection, as an event on the request's span."""
        self._current_span().add_event("db.pool.wait", {"db.pool.wait_ms": seconds * 1000})

    def close(self) -> "asyncio.Future[None]":
        """Send the spans still queued and stop: in a thread, whose end the future tells. The
        app waits for it no longer than it waits for the database to close: the exporter's
        own timeout (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default) must not hold a drain, and a
        thread left running is a daemon, which the process's exit does not wait for."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        def shut_down() -> None:
            try:
                self.provider.shutdown()
            finally:
                with suppress(RuntimeError):  # the loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(finish)

        threading.Thread(target=shut_down, name="tracing-close", daemon=True).start()
        return done


def not_traced(scope: MutableMapping[str, Any]) -> bool:
    return str(scope.get("path", "")).startswith(NOT_TRACED)


def instrument_the_driver(provider: object) -> None:
    """A client span per statement, from the driver's own instrumentation (process-wide)."""
{%- if cookiecutter.db_driver in ["asyncpg", "databases", "sqlalchemy_async"] %}
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
{%- else %}
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    PsycopgInstrumentor().instrument(tracer_provider=provider)
{%- endif %}


def current_ids() -> tuple[str, str] | None:
    """The ids of the trace and span in effect, in hex as collectors show them; None outside a
    span."""
    from opentelemetry.trace import get_current_span

    context = get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def trace_ids_filter() -> Callable[[logging.LogRecord], bool]:
    """For logging's configuration: stamps each record with the ids of the trace and span it was
    made in ("-" outside any), so that a log line can be found from a trace and back."""

    def stamp(record: logging.LogRecord) -> bool:
        record.trace_id, record.span_id = current_ids() or ("-", "-")
        return True

    return stamp
