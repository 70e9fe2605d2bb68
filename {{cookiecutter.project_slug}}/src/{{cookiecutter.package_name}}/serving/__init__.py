"""Serving the app: uvicorn, the drain on SIGTERM, and worker processes."""
