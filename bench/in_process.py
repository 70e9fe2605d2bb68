"""Runs in a target's own environment, under callgrind: one app served in-process (its lifespan
run, ASGI calls made directly, no server and no client library whose cost would blur the app's)
and the requests whose instructions the benchmark counts.

Stand-alone (it is run with the target's Python, which has none of the benchmark's modules). The
parent switches callgrind's instrumentation on and off around each kind of request; the lines on
stdin and stdout keep the two in step:

    -> ready          (the app started and warmed up; instrumentation still off)
    <- reads          -> done    (the reads were made, one at a time)
    <- writes         -> done
    <- crowded_reads  -> done    (reads again, --in-flight at once: most wait for a connection)
    <- exit

Usage: python -P in_process.py (--factory module:function | --script path) --in-flight N REQUESTS
"""

import argparse
import asyncio
import gc
import importlib
import json
import runpy
import secrets
import select
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from asgi_lifespan import LifespanManager

WARM_UP = 30
READ_PATH = "/items/1"  # seeded by the benchmark


def load_app(args: argparse.Namespace) -> Any:
    if args.factory:
        module, function = args.factory.split(":")
        return getattr(importlib.import_module(module), function)()
    return runpy.run_path(args.script, run_name="in_process")["app"]


async def call(app: Any, method: str, path: str, body: bytes, expected: int) -> None:
    """One request as a server would hand it over, and its answer taken in."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Future()  # the client never goes away
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    if status != expected:
        raise SystemExit(f"{method} {path} answered {status}, not {expected}")


def reads(app: Any) -> Callable[[int], Any]:
    async def make(count: int) -> None:
        for _ in range(count):
            await call(app, "GET", READ_PATH, b"", 200)

    return make


def writes(app: Any) -> Callable[[int], Any]:
    made = 0
    run = secrets.token_hex(4)  # names stay unique on a database written to before

    async def make(count: int) -> None:
        nonlocal made
        for _ in range(count):
            made += 1
            body = json.dumps({"name": f"in-process {run} {made}", "description": "measured"})
            await call(app, "POST", "/items", body.encode(), 201)

    return make


def crowded(make: Callable[[int], Any], in_flight: int) -> Callable[[int], Any]:
    async def make_crowded(count: int) -> None:
        share, left = divmod(count, in_flight)
        await asyncio.gather(*(make(share + (i < left)) for i in range(in_flight)))

    return make_crowded


def next_line() -> str:
    """The parent's next word. Waits in short polls, not one blocking read: callgrind takes
    its commands only while the program runs."""
    while not select.select([sys.stdin], [], [], 0.005)[0]:
        pass
    return sys.stdin.readline().strip()


def say(word: str) -> None:
    print(word, flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--factory")
    source.add_argument("--script")
    parser.add_argument("--in-flight", type=int, required=True)
    parser.add_argument("requests", type=int)
    args = parser.parse_args()

    async with LifespanManager(load_app(args)) as manager:
        kinds = {"reads": reads(manager.app), "writes": writes(manager.app)}
        kinds["crowded_reads"] = crowded(kinds["reads"], args.in_flight)
        for make in kinds.values():
            await make(WARM_UP)
        # What start-up left behind, collected now: its first full collection would otherwise
        # fall into whichever kind crosses the collector's threshold and be counted as that
        # kind's cost, where a served app pays it once, soon after it starts.
        gc.collect()
        say("ready")
        while (word := next_line()) != "exit":
            await kinds[word](args.requests)
            say("done")


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """On uvloop when the target's environment has it: uvicorn (loop="auto") serves the app on
    it, and its timers and callbacks cost a fraction of asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


if __name__ == "__main__":
    run(main())
