"""Unhandled errors (the 500s) reported to Sentry when ``SENTRY_DSN`` is set; unset,
``sentry_sdk`` is not even imported.

An error no handler answers is logged by the request middleware (web/middleware.py) with its
traceback; Sentry's logging integration turns that line into the report, with the request's id
as a tag and Sentry's trace id in its trace context. No request body and no personal data (the
client's address, cookies, user) leave the service. Reports are sent from Sentry's own thread
through a bounded queue: a Sentry that is down costs reports, never a request.
"""

from typing import TYPE_CHECKING

from .logs import request_id
from .tracing import current_ids, tracing_configured

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

# Seconds Sentry may take to send what is queued when the process exits: within the time a
# drain leaves the process to exit (settings.EXIT_TIME).
FLUSH_AT_EXIT = 1.0


def start_error_reports(dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report to the Sentry project of the DSN (SENTRY_DSN), if one is given."""
    if not dsn:
        return
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        # 0: no performance traces of Sentry's own (OpenTelemetry's are separate).
        traces_sample_rate=traces_sample_rate or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,  # a frame's variables may hold a row or a password
        before_send=with_ids,
        shutdown_timeout=FLUSH_AT_EXIT,
    )


def with_ids(event: "Event", hint: "Hint") -> "Event":
    """Tags a report with the request's id and, when traces are exported, the trace's."""
    tags = event.setdefault("tags", {})
    tags["request_id"] = request_id.get()
    if tracing_configured() and (ids := current_ids()) is not None:
        tags["trace_id"] = ids[0]
    return event
