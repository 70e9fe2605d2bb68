"""Worker processes, for WORKERS > 1: started, replaced when one dies, and stopped within a
bound. Uvicorn has a supervisor of its own, but it runs plain uvicorn servers (not the draining
one of server.py) and waits for them to stop without a bound.

In a container, run one worker and let the orchestrator run more containers (docs/kubernetes.md):
this code never runs there. It is for a VM or a host without one, where WORKERS is how the
service uses more than one core."""

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger(__name__)


def supervise(
    work: Callable[[], None], count: int, *, listening: socket.socket, stop_within: float
) -> None:
    """Run `work` in `count` processes, which accept on `listening`, until SIGTERM or Ctrl-C;
    then pass SIGTERM on to them, and kill those still running `stop_within` seconds later."""
    stop_signals: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stop_signals.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    spawn = multiprocessing.get_context("spawn")

    def start() -> BaseProcess:
        worker = spawn.Process(target=work, name="worker")
        worker.start()
        logger.info("started worker process [%s]", worker.pid)
        return worker

    workers = [start() for _ in range(count)]
    while not stop_signals:
        wait([worker.sentinel for worker in workers], timeout=0.5)
        for number, worker in enumerate(workers):
            if worker.exitcode is None or stop_signals:
                continue
            if worker.exitcode == STARTUP_FAILURE:  # it would fail again: give up
                stop_for(workers, listening, stop_within)
                raise SystemExit(STARTUP_FAILURE)
            logger.warning("worker [%s] exited (%s): starting another", worker.pid, worker.exitcode)
            workers[number] = start()
    stop_for(workers, listening, stop_within)


def stop_for(workers: list[BaseProcess], listening: socket.socket, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    # The workers have sockets of their own: they go on accepting while they drain. Once the last
    # of them stops listening, a new connection must be refused, not queued for no one to accept
    # (its client would wait, then be reset when this process exits).
    listening.close()
    for worker in workers:
        if worker.pid is not None and worker.exitcode is None:
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join(max(deadline - time.monotonic(), 0))
        if worker.exitcode is None:
            logger.warning("worker [%s] still running after %s s: killing it", worker.pid, seconds)
            worker.kill()
            worker.join()
