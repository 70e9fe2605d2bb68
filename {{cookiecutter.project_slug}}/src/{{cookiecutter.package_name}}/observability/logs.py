"""Logging for the service: one line per record, the app's and uvicorn's alike, each stamped with
the id of the request it belongs to, and with the ids of its trace and span when traces are
exported (observability/tracing.py). ``LOG_FORMAT=json`` makes every line a JSON object."""

import logging.config
from contextvars import ContextVar
from typing import Any, Literal

from .tracing import tracing_configured

LogFormat = Literal["text", "json"]

# The id of the request being served; "-" outside a request (start-up, shutdown).
request_id: ContextVar[str] = ContextVar("request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
TRACED_TEXT_FORMAT = (
    "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s trace=%(trace_id)s span=%(span_id)s] "
    "%(message)s"
)
TRACED_JSON_FIELDS = (
    "%(asctime)s %(levelname)s %(name)s %(request_id)s %(trace_id)s %(span_id)s %(message)s"
)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request's id, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def logging_config(level: str, log_format: LogFormat = "text") -> dict[str, Any]:
    traced = tracing_configured()
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": TRACED_JSON_FIELDS if traced else JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if log_format == "json"
        else {"format": TRACED_TEXT_FORMAT if traced else TEXT_FORMAT}
    )
    filters: dict[str, Any] = {"request_id": {"()": RequestIdFilter}}
    if traced:
        filters["trace_ids"] = {"()": f"{__package__}.tracing.trace_ids_filter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": list(filters),
            },
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            # The app logs each request itself (web/middleware.py), with its id and duration.
            "uvicorn.access": {"level": "WARNING"},
        },
    }


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    logging.config.dictConfig(logging_config(level, log_format))
