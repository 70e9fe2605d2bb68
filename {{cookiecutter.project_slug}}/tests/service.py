"""The service as a user starts it: `python -m {{ cookiecutter.package_name }}`, in a process of its
own, listening on a real socket."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .postgres import free_port


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, then the seconds the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


@contextmanager
def service(cwd: Path, **env: str) -> Iterator[Service]:
    """Started and ready (`/health/ready` answers 200); stopped with SIGTERM afterwards if it
    still runs. No drain delay unless asked for: stopping it should not take seconds."""
    port = free_port()
    log_path = cwd / "service.log"
    with log_path.open("wb") as log:  # a file, not a pipe: a pipe nobody reads would fill up
        process = subprocess.Popen(
            [sys.executable, "-m", "{{ cookiecutter.package_name }}"],
            cwd=cwd,
            env={
                **os.environ,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "LOG_LEVEL": "debug",
                "DRAIN_DELAY": "0",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = Service(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, running.log()
            try:
                if httpx.get(f"{running.url}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            try:
                running.stop()
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
