"""Logs, metrics, traces and error reports: the log format and the request id in every line,
the Prometheus registry with the request timings, OpenTelemetry's traces and Sentry's reports
(each set up only when configured)."""
