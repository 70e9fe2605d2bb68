"""Logs and metrics: the log format and the request id in every line, and the Prometheus
registry with the request timings."""
