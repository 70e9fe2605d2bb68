"""Load from wrk: a fixed number of clients for a fixed time; its figures come back from a Lua
`done()` as JSON, not scraped from its text."""

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).parent / "lua"
MARKER = "BENCH_RESULT "
# One wrk thread drives the clients; the service (one worker) and PostgreSQL get the other core.
THREADS = 1
# Longer than any wait the services allow (DB_POOL_TIMEOUT), so a slow answer is measured as
# slow, not dropped as a timeout.
TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write and timeout errors
    status_errors: int  # answers with a status > 399

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    workload: str, url: str, *, connections: int, seconds: int, args: list[str]
) -> LoadResult:
    """Run the workload (``reads`` or ``writes``, a script in lua/) against ``url``."""
    binary = wrk_binary()
    assert binary, "check wrk_binary() first"
    script = (LUA / f"{workload}.lua").read_text() + "\n" + (LUA / "report.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix=f"bench-{workload}-") as file:
        file.write(script)
        file.flush()
        result = subprocess.run(
            [
                binary,
                f"--threads={THREADS}",
                f"--connections={connections}",
                f"--duration={seconds}s",
                f"--timeout={TIMEOUT_SECONDS}s",
                f"--script={file.name}",
                url,
                "--",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + TIMEOUT_SECONDS + 30,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited {result.returncode}: {result.stderr.strip()}")
    return parse(result.stdout)


def parse(output: str) -> LoadResult:
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    figures = json.loads(lines[-1].removeprefix(MARKER))
    errors = figures["errors"]
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        max_ms=figures["max_us"] / 1e3,
        socket_errors=sum(errors[kind] for kind in ("connect", "read", "write", "timeout")),
        status_errors=errors["status"],
    )
