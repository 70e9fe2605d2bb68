"""Real receivers for what the service sends out: an OTLP/HTTP collector that decodes the spans
it is sent, and a Sentry ingest endpoint that reads the envelopes. Each is an HTTP server on a
loopback port, in a thread of the test process, answering with the status the test sets."""

import gzip
import json
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage


class Receiver:
    """Keeps the path and (decompressed) body of every POST, and answers `status` to it."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.posts.append((self.path, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads what arrived, not a line per request

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, path: str) -> list[bytes]:
        return [body for posted_to, body in self.posts if posted_to == path]


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A URL whose server takes the connection and never answers: a collector that hangs."""
    with socket.create_server(("127.0.0.1", 0)) as listening:  # connections wait in its backlog
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


@dataclass
class Span:
    """A span as the collector decoded it, with its process's resource attributes."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    events: list[str]
    resource: dict[str, Any]

    SERVER = SpanMessage.SPAN_KIND_SERVER
    CLIENT = SpanMessage.SPAN_KIND_CLIENT


def values(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for pair in pairs:
        which = pair.value.WhichOneof("value")
        decoded[pair.key] = getattr(pair.value, which) if which else None
    return decoded


def spans_received(collector: Receiver) -> list[Span]:
    spans: list[Span] = []
    for body in collector.bodies("/v1/traces"):
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = values(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                spans.extend(
                    Span(
                        name=span.name,
                        kind=span.kind,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes=values(span.attributes),
                        events=[event.name for event in span.events],
                        resource=resource,
                    )
                    for span in scope_spans.spans
                )
    return spans


def sentry_events(sentry: Receiver, project: int) -> list[dict[str, Any]]:
    """The events of the envelopes posted to the project: a line of headers, then per item a
    line of item headers and a line of payload."""
    events: list[dict[str, Any]] = []
    for body in sentry.bodies(f"/api/{project}/envelope/"):
        lines = body.split(b"\n")[1:]
        for header, payload in zip(lines[::2], lines[1::2], strict=False):
            if header and json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events
