"""Running a server process of the harness's own: start it, wait until it answers, stop it by
its pid."""

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.baking import clean_env

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ServeFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    ready: Callable[[], bool],
    what: str,
) -> Iterator[None]:
    """The process runs for the block, from the moment ``ready()`` is true. Its output goes to
    ``log``, whose end comes along in the error if it dies or never gets ready."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=clean_env(**env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Ctrl-C in the harness's terminal must not reach it: the harness stops it itself.
            start_new_session=True,
        )
        try:
            _wait_ready(process, ready, what=what, log=log)
            yield
        finally:
            stop(process)


def _wait_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], *, what: str, log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise ServeFailed(f"{what} exited {process.returncode}:\n{tail(log)}")
        if ready():
            return
        if time.monotonic() > deadline:
            raise ServeFailed(f"{what} did not get ready in {START_TIMEOUT:.0f} s:\n{tail(log)}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL if it takes too long."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_ok(url: str) -> Callable[[], bool]:
    """True once GET ``url`` answers 200."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return answers


def accepts_connections(port: int) -> Callable[[], bool]:
    """True once something listens on 127.0.0.1:``port``."""

    def accepts() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    return accepts
