"""The HTTP edge: what happens around every request (its id, log line and metrics, the bound on
its body, the answers to failures) and the routes that are not a resource's (probes, metrics).
Knows no resource."""
