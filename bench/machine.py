"""The machine a run was made on, for the record next to its figures."""

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(*command: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    output = (result.stdout or result.stderr).strip()
    return output.splitlines()[0] if output else "unknown"


def describe(
    postgres_version: str, authentication: str, wrk: str | None, pgbouncer: str | None
) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "authentication": authentication,
        "wrk": tool_version(wrk, "-v").split(" Copyright")[0] if wrk else "not installed",
        "pgbouncer": tool_version(pgbouncer, "--version") if pgbouncer else "not installed",
    }
