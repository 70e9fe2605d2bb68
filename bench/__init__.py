"""The benchmark harness: what each driver and connection strategy costs, measured against
hand-written apps and against the HTTP and database ceilings. Run it with ``python -m bench``."""
