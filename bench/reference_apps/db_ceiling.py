"""The database ceiling: a driver's read rate without HTTP.

``python -P db_ceiling.py DRIVER CONCURRENCY SECONDS WARMUP IDS``, with DATABASE_URL set, runs
CONCURRENCY tasks (threads for the sync sqlalchemy), each on a connection of its own, that
repeat the services' read (`SELECT ... WHERE id = <random seeded id>`) for WARMUP seconds, then
counts the queries done in the next SECONDS and prints ``{"queries": N, "seconds": S}``.
"""

import asyncio
import json
import os
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass

COLUMNS = "id, name, description, created_at"


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @classmethod
    def after(cls, warmup: float, seconds: float) -> "Window":
        start = time.monotonic() + warmup
        return cls(start, start + seconds)


def repeat(query: Callable[[], object], window: Window) -> int:
    done = 0
    while (began := time.monotonic()) < window.end:
        query()
        done += began >= window.start
    return done


async def repeat_async(query: Callable[[], Awaitable[object]], window: Window) -> int:
    done = 0
    while (began := time.monotonic()) < window.end:
        await query()
        done += began >= window.start
    return done


async def asyncpg_reads(url: str, tasks: int, window: Callable[[], Window], ids: int) -> int:
    import asyncpg

    sql = f"SELECT {COLUMNS} FROM items WHERE id = $1"
    async with asyncpg.create_pool(url, min_size=tasks, max_size=tasks) as pool:
        connections = [await pool.acquire() for _ in range(tasks)]
        measured = window()
        counts = await asyncio.gather(
            *(
                repeat_async(lambda c=c: c.fetchrow(sql, random.randint(1, ids)), measured)
                for c in connections
            )
        )
        for connection in connections:
            await pool.release(connection)
    return sum(counts)


async def psycopg_reads(url: str, tasks: int, window: Callable[[], Window], ids: int) -> int:
    import psycopg

    sql = f"SELECT {COLUMNS} FROM items WHERE id = %s"
    connections = [
        await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(tasks)
    ]

    async def read(connection: psycopg.AsyncConnection) -> object:
        cursor = await connection.execute(sql, (random.randint(1, ids),))
        return await cursor.fetchone()

    try:
        measured = window()
        counts = await asyncio.gather(
            *(repeat_async(lambda c=c: read(c), measured) for c in connections)
        )
    finally:
        for connection in connections:
            await connection.close()
    return sum(counts)


async def databases_reads(url: str, tasks: int, window: Callable[[], Window], ids: int) -> int:
    import databases

    sql = f"SELECT {COLUMNS} FROM items WHERE id = :id"
    database = databases.Database(url, min_size=tasks, max_size=tasks)
    await database.connect()

    async def read_on_own_connection(measured: Window) -> int:
        # databases lends each task a connection of its own; this one keeps it throughout.
        async with database.connection() as connection:
            return await repeat_async(
                lambda: connection.fetch_one(sql, {"id": random.randint(1, ids)}), measured
            )

    try:
        measured = window()
        counts = await asyncio.gather(*(read_on_own_connection(measured) for _ in range(tasks)))
    finally:
        await database.disconnect()
    return sum(counts)


async def sqlalchemy_async_reads(
    url: str, tasks: int, window: Callable[[], Window], ids: int
) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    sql = text(f"SELECT {COLUMNS} FROM items WHERE id = :id")
    engine = create_async_engine(
        url.replace("postgresql://", "postgresql+asyncpg://", 1),
        pool_size=tasks,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
    )

    async def read_on_own_connection(measured: Window) -> int:
        async with engine.connect() as connection:

            async def read() -> object:
                result = await connection.execute(sql, {"id": random.randint(1, ids)})
                return result.first()

            return await repeat_async(read, measured)

    try:
        measured = window()
        counts = await asyncio.gather(*(read_on_own_connection(measured) for _ in range(tasks)))
    finally:
        await engine.dispose()
    return sum(counts)


def sqlalchemy_reads(url: str, threads: int, window: Callable[[], Window], ids: int) -> int:
    from sqlalchemy import create_engine, text

    sql = text(f"SELECT {COLUMNS} FROM items WHERE id = :id")
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=threads,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
    )
    connections = [engine.connect() for _ in range(threads)]
    counts = [0] * threads
    measured = window()

    def work(index: int) -> None:
        connection = connections[index]
        counts[index] = repeat(
            lambda: connection.execute(sql, {"id": random.randint(1, ids)}).first(), measured
        )

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for connection in connections:
        connection.close()
    engine.dispose()
    return sum(counts)


def run_async(coroutine: Coroutine[object, object, int]) -> int:
    """On uvloop when it is installed, as uvicorn serves the apps."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def main() -> None:
    driver, concurrency, seconds, warmup, ids = sys.argv[1:]
    url = os.environ["DATABASE_URL"]

    def window() -> Window:
        return Window.after(float(warmup), float(seconds))

    if driver == "sqlalchemy":
        queries = sqlalchemy_reads(url, int(concurrency), window, int(ids))
    else:
        reads = {
            "asyncpg": asyncpg_reads,
            "psycopg": psycopg_reads,
            "databases": databases_reads,
            "sqlalchemy_async": sqlalchemy_async_reads,
        }[driver]
        queries = run_async(reads(url, int(concurrency), window, int(ids)))
    print(json.dumps({"queries": queries, "seconds": float(seconds)}))


if __name__ == "__main__":
    main()
