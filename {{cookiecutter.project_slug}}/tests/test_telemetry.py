"""Traces and error reports, as real receivers get them from `python -m {{ cookiecutter.package_name }}`:
an OTLP/HTTP collector that decodes the spans, and a Sentry ingest endpoint that reads the
envelopes. A span per request continues the caller's trace, a child span per statement has its
text and never its values, the log lines carry the ids; a 500 is reported with its request id
and without its body. A collector or Sentry that refuses or hangs costs no request and does
not hold the drain. Unset, nothing of OpenTelemetry's SDK or of Sentry is loaded (FastAPI
imports OpenTelemetry's API, which does nothing without a provider)."""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .postgres import items_table_gone
from .receivers import Receiver, Span, sentry_events, silent_endpoint, spans_received
from .service import service
from .test_observability import json_lines
from .test_serve import PASSWORD, with_password

pytestmark = pytest.mark.slow  # the service started as a process

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
SENTRY_PROJECT = 42
LOADED_ONLY_WHEN_SET = (
    "opentelemetry.sdk",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "sentry_sdk",
)
# Values only the database may see: never in a span or a report.
SECRET_NAME = "name-that-must-not-be-traced"
SECRET_OF_A_FAILURE = "name-that-must-not-be-reported"


def sentry_dsn(receiver: Receiver) -> str:
    return f"http://public-key@{receiver.url.removeprefix('http://')}/{SENTRY_PROJECT}"


def broken_write(api: httpx.Client, database_url: str) -> httpx.Response:
    """A write that fails as a bug would, with a table gone: a 500."""
    with items_table_gone(database_url):
        return api.post(
            "/items", json={"name": SECRET_OF_A_FAILURE}, headers={"X-Request-ID": "r-broken"}
        )


@dataclass
class ObservedRun:
    spans: list[Span]
    reports: list[dict[str, Any]]
    log: list[dict[str, Any]]
    item_id: int


@pytest.fixture(scope="module")
def observed(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> ObservedRun:
    """A service exporting traces and reporting errors: a write from a caller with a trace of
    its own, a read, a batch and a 500. Spans would leave every 60 s: those that arrive were
    sent when the service stopped."""
    env = {
        "DATABASE_URL": with_password(database_url, PASSWORD),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
        "OTEL_SERVICE_NAME": "traced-service",
        "SENTRY_ENVIRONMENT": "staging",
    }
    with Receiver() as receiver:
        workdir = tmp_path_factory.mktemp("observed")
        endpoints = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "SENTRY_DSN": sentry_dsn(receiver),
        }
        with (
            service(workdir, **endpoints, **env) as running,
            httpx.Client(base_url=running.url) as api,
        ):
            created = api.post(
                "/items",
                json={"name": SECRET_NAME},
                headers={"traceparent": TRACEPARENT, "X-Request-ID": "r-traced"},
            )
            assert created.status_code == 201, created.text
            item_id = created.json()["id"]
            assert api.get(f"/items/{item_id}").status_code == 200
            assert api.get("/items/424242").status_code == 404
            batch = {"items": [{"name": "lamp"}, {"name": "desk"}]}
            assert api.post("/items/batch", json=batch).status_code == 201
            assert broken_write(api, database_url).status_code == 500
            assert api.get("/health/ready").status_code == 200
        assert running.process.returncode == 0
        return ObservedRun(
            spans_received(receiver),
            sentry_events(receiver, SENTRY_PROJECT),
            json_lines(running.log()),
            item_id,
        )


def attribute(span: Span, name: str, older_name: str) -> Any:
    """By its name in the current semantic conventions, or in those before them."""
    return span.attributes.get(name, span.attributes.get(older_name))


def server_span(spans: list[Span], method: str, route: str, status: int) -> Span:
    found = [
        span
        for span in spans
        if span.kind == Span.SERVER
        and span.attributes.get("http.route") == route
        and attribute(span, "http.request.method", "http.method") == method
        and attribute(span, "http.response.status_code", "http.status_code") == status
    ]
    assert len(found) == 1, [(span.name, span.attributes) for span in spans]
    return found[0]


def descendants(spans: list[Span], ancestor: Span) -> list[Span]:
    by_id = {span.span_id: span for span in spans}

    def descends(span: Span) -> bool:
        parent = by_id.get(span.parent_span_id)
        return parent is not None and (parent is ancestor or descends(parent))

    return [span for span in spans if descends(span)]


def statements(spans: list[Span]) -> list[str]:
    return [
        str(attribute(span, "db.query.text", "db.statement"))
        for span in spans
        if span.kind == Span.CLIENT
    ]


def test_a_request_continues_the_callers_trace(observed: ObservedRun) -> None:
    write = server_span(observed.spans, "POST", "/items", 201)

    assert (write.trace_id, write.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert write.resource["service.name"] == "traced-service"


def test_each_statement_is_a_child_span_with_its_text(observed: ObservedRun) -> None:
    write = server_span(observed.spans, "POST", "/items", 201)
    read = server_span(observed.spans, "GET", "/items/{item_id}", 200)
    batch = server_span(observed.spans, "POST", "/items/batch", 201)

    assert any("insert" in text.lower() for text in statements(descendants(observed.spans, write)))
    assert any("select" in text.lower() for text in statements(descendants(observed.spans, read)))
    assert any("insert" in text.lower() for text in statements(descendants(observed.spans, batch)))
    assert all(span.trace_id == CALLER_TRACE for span in descendants(observed.spans, write))
    assert read.trace_id != CALLER_TRACE  # a request without a caller's trace starts its own


def test_no_parameter_value_or_password_is_in_any_span(observed: ObservedRun) -> None:
    everything = repr([(span.name, span.attributes, span.resource) for span in observed.spans])

    assert statements(observed.spans)
    assert SECRET_NAME not in everything
    assert SECRET_OF_A_FAILURE not in everything
    assert str(observed.item_id) not in statements(observed.spans)
    assert PASSWORD not in everything


def test_the_probes_are_not_traced(observed: ObservedRun) -> None:
    assert not [span for span in observed.spans if "/health" in span.name]


def test_log_lines_carry_the_trace_and_span_ids(observed: ObservedRun) -> None:
    write = server_span(observed.spans, "POST", "/items", 201)
    access = [
        line
        for line in observed.log
        if line.get("request_id") == "r-traced" and line["logger"].endswith("access")
    ]

    assert len(access) == 1, observed.log
    assert (access[0]["trace_id"], access[0]["span_id"]) == (CALLER_TRACE, write.span_id)
    assert all(line["trace_id"] == "-" for line in observed.log if line["request_id"] == "-")
{%- if cookiecutter.connection_strategy != "per_request" %}


def test_the_wait_for_a_pooled_connection_is_an_event(observed: ObservedRun) -> None:
    read = server_span(observed.spans, "GET", "/items/{item_id}", 200)

    assert "db.pool.wait" in read.events
{%- endif %}


def test_a_500_alone_is_reported_with_its_ids_and_nothing_of_its_input(
    observed: ObservedRun,
) -> None:
    """Reported: the 500, not the 404; tagged with its request id and its trace's id."""
    broken = server_span(observed.spans, "POST", "/items", 500)

    assert len(observed.reports) == 1, observed.reports
    report = observed.reports[0]
    assert report["tags"]["request_id"] == "r-broken"
    assert report["tags"]["trace_id"] == broken.trace_id
    assert re.fullmatch(r"[0-9a-f]{32}", report["contexts"]["trace"]["trace_id"])
    assert report["environment"] == "staging"
    assert report["exception"]["values"]
    assert not report.get("request", {}).get("data"), report["request"]
    assert "user" not in report
    assert SECRET_OF_A_FAILURE not in json.dumps(report)
    assert PASSWORD not in json.dumps(report)


# A collector or Sentry that fails is the same code for every driver (the exporter's thread and
# queue, Sentry's transport): the template's own suite runs these in one bake.
@pytest.mark.driver_independent
@pytest.mark.parametrize("failing", ["hanging", "refusing"])
def test_a_collector_or_sentry_that_fails_costs_no_request_and_no_drain_time(
    database_url: str, workdir: Path, failing: str
) -> None:
    """Spans leave every 0.1 s to a collector that never answers, or answers 503, and the
    reports to a Sentry that answers 503: requests are answered as without them, and the
    process stops in the time it has to close."""
    with Receiver(status=503) as refusing, silent_endpoint() as hanging:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": hanging if failing == "hanging" else refusing.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "SENTRY_DSN": sentry_dsn(refusing),
        }
        with (
            service(workdir, DATABASE_URL=database_url, **env) as running,
            httpx.Client(base_url=running.url, timeout=5) as api,
        ):
            statuses = [
                api.post("/items", json={"name": f"item {n}"}).status_code for n in range(20)
            ]
            statuses += [api.get("/items").status_code for _ in range(20)]
            statuses.append(broken_write(api, database_url).status_code)
            statuses.append(api.get("/items").status_code)
            seconds_to_stop = running.stop()

    assert statuses == [201] * 20 + [200] * 20 + [500, 200]
    assert running.process.returncode == 0
    # The database's close and the spans' flush share DATABASE_CLOSE_TIMEOUT (1 s); the rest is
    # the process's own exit.
    assert seconds_to_stop < 4, running.log()
    assert sentry_events(refusing, SENTRY_PROJECT)  # the report was tried
    if failing == "refusing":
        assert refusing.bodies("/v1/traces")


@pytest.mark.driver_independent
def test_nothing_of_tracing_or_sentry_is_loaded_when_unset(workdir: Path) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "SENTRY_"))
    }
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"LOADED_ONLY_WHEN_SET = {LOADED_ONLY_WHEN_SET!r}; "
            "import sys; from {{ cookiecutter.package_name }}.app import create_app; create_app(); "
            "print([m for m in sys.modules if m.startswith(LOADED_ONLY_WHEN_SET)])",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()

    assert loaded == "[]"
