"""Reads from a streaming replica of the primary, when DATABASE_REPLICA_URL is set.

A read of one statement goes to the replica when the replica is healthy and, if the client sent
``X-Read-After`` (the primary's WAL position after one of its writes), has replayed that
position; else to the primary. A check every DB_REPLICA_CHECK_INTERVAL (a second) reads how far
the replica has replayed, against the primary's position: a replica that is down, promoted or
more than DB_REPLICA_MAX_LAG seconds behind is not read from until a check finds it healthy
again. Writes, units of work and everything in a transaction use the primary only.
"""

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel

from ..settings import Settings
from .core import Database, open_database
from .errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

# The header a write's answer carries, and a read may send back.
READ_AFTER = "X-Read-After"

# Seconds the check's queries may take, each.
CHECK_TIMEOUT = 0.5
# Each half of a WAL position as PostgreSQL writes it: 1 to 8 hexadecimal digits.
HEX_HALF = re.compile(r"[0-9A-Fa-f]{1,8}")

FetchRow = Callable[[str], Awaitable[tuple[Any, ...]]]
T = TypeVar("T")

PRIMARY_POSITION = "SELECT pg_current_wal_lsn()::text"
# The replica's time since the last transaction it replayed is used only until the checks have
# a history of the primary's positions: it grows while the primary is idle.
REPLAY_STATE = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn()::text,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
"""


class ReplicaStatus(StrEnum):
    OK = "ok"
    LAGGING = "lagging"  # more than DB_REPLICA_MAX_LAG behind
    DOWN = "down"  # the check failed or timed out
    PROMOTED = "promoted"  # no longer in recovery: a primary of its own, its data diverging
    DISABLED = "disabled"  # no DATABASE_REPLICA_URL


class ReplicaHealth(BaseModel):
    """On /health/ready: the replica's state at the last check."""

    status: ReplicaStatus
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    replayed_lsn: str | None = None  # how far the replica had replayed the primary's WAL


def parse_lsn(text: str) -> int:
    """A WAL position as PostgreSQL writes it (two hexadecimal halves, ``16/B374D848``) as a
    number of bytes. ValueError when it is not one."""
    high, slash, low = text.strip().partition("/")
    if not (slash and HEX_HALF.fullmatch(high) and HEX_HALF.fullmatch(low)):
        raise ValueError(f"not a WAL position: {text!r}")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


class Replica:
    """Where each read goes, and the checks that decide it."""

    def __init__(
        self, primary: Database, replica: Database, *, max_lag: float, check_every: float
    ) -> None:
        self.primary = primary
        self.replica = replica
        self._max_lag = max_lag
        self._check_every = check_every
        self.status = ReplicaStatus.DOWN  # until a check finds it well
        self._checked = False
        self.lag_seconds: float | None = None
        self.lag_bytes: int | None = None
        self._replayed = -1
        self._primary_position = 0  # the highest this process has seen
        self._primary_read_at = -math.inf  # when a check last began to read it
        # The primary's positions at the last checks, (time.monotonic(), position), oldest first:
        # the replica is as fresh as the newest of them it has replayed.
        self._history: deque[tuple[float, int]] = deque()
        self._history_span = max_lag + 2 * check_every
        # A check wanted now, and the reads waiting for it (see database_for).
        self._check_wanted = asyncio.Event()
        self._stopping = False
        self._next_check: asyncio.Future[None] | None = None
        self.reads: Counter[tuple[str, str]] = Counter()  # (target, reason)

    def health(self) -> ReplicaHealth:
        return ReplicaHealth(
            status=self.status,
            lag_seconds=self.lag_seconds,
            lag_bytes=self.lag_bytes,
            replayed_lsn=format_lsn(self._replayed) if self._replayed >= 0 else None,
        )

    async def database_for(self, read_after: str | None) -> Database:
        """The database a one-statement read goes to. ValueError for a position that is not
        one."""
        if self.status is not ReplicaStatus.OK:
            return self._counted(self.primary, "primary", self.status)
        if read_after is None:
            return self._counted(self.replica, "replica", "no_position")
        position = parse_lsn(read_after)
        if position > self._primary_position:
            # Past what this process has seen of the primary: another process's write since the
            # last check, or a made-up position. Wait for a check that starts now, shared with
            # every read waiting likewise: a real position is then behind the primary's, and one
            # still ahead is clamped to it, so that a client cannot send every read to the
            # primary.
            asked = time.monotonic()
            await self._fresh_check()
            if self._primary_read_at < asked:  # no fresh position: the primary is the safe one
                return self._counted(self.primary, "primary", "not_replayed")
            position = min(position, self._primary_position)
            if self.status is not ReplicaStatus.OK:
                return self._counted(self.primary, "primary", self.status)
        if position <= self._replayed:
            return self._counted(self.replica, "replica", "replayed")
        return self._counted(self.primary, "primary", "not_replayed")

    def _counted(self, database: Database, target: str, reason: str) -> Database:
        self.reads[target, reason] += 1
        return database

    async def run(self, chosen: Database, read: Callable[[Database], Awaitable[T]]) -> T:
        """The read on the database chosen for it; one the replica cannot serve (down since the
        last check, or out of connections) on the primary, and the replica left out of reads
        until a check finds it well."""
        if chosen is not self.replica:
            return await read(chosen)
        try:
            return await read(chosen)
        except DatabaseUnavailable as error:
            cause = error.__cause__ or error
            self._set(ReplicaStatus.DOWN, f"a read failed: {type(cause).__name__}: {cause}")
            self.reads["primary", "replica_failed"] += 1
            return await read(self.primary)

    async def primary_position(self, fetch_row: FetchRow | None = None) -> str:
        """The primary's WAL position now: after a commit, where a replica must have replayed
        to show it. Read with the primary's ``fetch_row``, unless given another."""
        (text,) = await (fetch_row or self.primary.fetch_row)(PRIMARY_POSITION)
        self._saw_primary_at(text)
        return str(text)

    def _saw_primary_at(self, position: str) -> None:
        self._primary_position = max(self._primary_position, parse_lsn(position))

    async def _fresh_check(self) -> None:
        if self._next_check is None:
            self._next_check = asyncio.get_running_loop().create_future()
            self._check_wanted.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2 * CHECK_TIMEOUT):
                await asyncio.shield(self._next_check)

    async def watch(self) -> None:
        """Check now, then every DB_REPLICA_CHECK_INTERVAL, or sooner when a read asks, until
        ``stop()``. Not stopped by cancelling it: on Python 3.11 a cancellation that comes as
        the interval's timeout expires is taken for the timeout, and the loop would go on."""
        while not self._stopping:
            waiting, self._next_check = self._next_check, None
            self._check_wanted.clear()
            try:
                await self.check()
            finally:
                if waiting is not None and not waiting.done():
                    waiting.set_result(None)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_every):
                    await self._check_wanted.wait()

    def stop(self) -> None:
        """The checks end: at once, or after the one under way (within CHECK_TIMEOUT a query)."""
        self._stopping = True
        self._check_wanted.set()

    async def check(self) -> None:
        """Read the primary's position, then the replica's state, and decide."""
        try:
            started = time.monotonic()
            async with asyncio.timeout(CHECK_TIMEOUT):
                (text,) = await self.primary.fetch_row(PRIMARY_POSITION)
            self._saw_primary_at(text)
            self._primary_read_at = started
            self._remember(self._primary_position)
        except Exception as error:  # the primary's own failures are the requests' to answer
            logger.debug("replica check: primary position not read: %r", error)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                in_recovery, replayed, since_replay = await self.replica.fetch_row(REPLAY_STATE)
        except Exception as error:
            self._set(ReplicaStatus.DOWN, f"{type(error).__name__}: {error}")
            return
        if not in_recovery:
            self._set(ReplicaStatus.PROMOTED, "it is no longer in recovery")
            return
        self._replayed = parse_lsn(replayed) if replayed else -1
        self.lag_bytes = max(0, self._primary_position - self._replayed)
        self.lag_seconds = self._lag(since_replay) if self.lag_bytes else 0.0
        if self.lag_seconds > self._max_lag:
            self._set(ReplicaStatus.LAGGING, f"{self.lag_seconds:.1f} s behind")
        else:
            self._set(ReplicaStatus.OK, "")

    def _remember(self, position: int) -> None:
        now = time.monotonic()
        self._history.append((now, position))
        while len(self._history) > 1 and self._history[1][0] < now - self._history_span:
            self._history.popleft()

    def _lag(self, since_replay: float | None) -> float:
        """Seconds since the primary was where the replica is now: from the newest position in
        the history that the replica has replayed. Behind all of them, at least the history's
        age, or, while the history is short (at start), the time since it replayed a
        transaction."""
        now = time.monotonic()
        for when, position in reversed(self._history):
            if position <= self._replayed:
                return now - when
        oldest = now - self._history[0][0] if self._history else 0.0
        if oldest >= self._history_span - self._check_every:
            return oldest
        return max(oldest, float(since_replay or 0.0))

    def _set(self, status: ReplicaStatus, why: str) -> None:
        if status in (ReplicaStatus.DOWN, ReplicaStatus.PROMOTED):
            self.lag_seconds = self.lag_bytes = None  # not known, or no longer meaningful
        first, self._checked = not self._checked, True
        if status is self.status and not first:
            return
        if status is ReplicaStatus.OK:
            logger.info("replica used for reads%s", "" if first else f" again (was {self.status})")
        else:
            logger.warning("replica not used for reads: %s, %s", status, why)
        self.status = status


@asynccontextmanager
async def open_replica(settings: Settings, primary: Database) -> AsyncIterator[Replica]:
    """The replica's connections (a pool of its own, sized by DB_REPLICA_POOL_*, or one per
    read), and its checks, for the app's life."""
    async with open_database(settings.for_replica()) as replica_database:
        replica = Replica(
            primary,
            replica_database,
            max_lag=settings.db_replica_max_lag,
            check_every=settings.db_replica_check_interval,
        )
        await replica.check()  # so that the first reads can use it
        watching = asyncio.create_task(replica.watch(), name="replica checks")
        try:
            yield replica
        finally:
            replica.stop()
            # Shielded: the app's close may be cut short, and the checks end by themselves.
            await asyncio.shield(watching)


class ReplicaCollector(Collector):
    """The replica's state at the last check, and the reads by where they went and why."""

    def __init__(self, replica: Replica) -> None:
        self._replica = replica

    def collect(self) -> Iterator[Metric]:
        replica = self._replica
        yield GaugeMetricFamily(
            "db_replica_up",
            "1 while the replica answers its checks in recovery, else 0.",
            value=int(replica.status in (ReplicaStatus.OK, ReplicaStatus.LAGGING)),
        )
        for name, documentation, value in [
            ("db_replica_lag_seconds", "Replay lag of the replica.", replica.lag_seconds),
            ("db_replica_lag_bytes", "WAL the replica has still to replay.", replica.lag_bytes),
        ]:
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)
        reads = CounterMetricFamily(
            "db_reads",
            "One-statement reads, by where they went and why.",
            labels=["target", "reason"],
        )
        for (target, reason), count in list(replica.reads.items()):
            reads.add_metric([target, reason], count)
        yield reads


class Reads:
    """What a read endpoint runs its one-statement read with: ``await reads(lambda database:
    ...)``, on the database chosen for it (with a replica, ``Replica.database_for``), falling
    over to the primary when the replica fails it. Without a replica, the app's one instance
    serves every request."""

    __slots__ = ("database", "replica")

    def __init__(self, database: Database, replica: Replica | None = None) -> None:
        self.database = database
        self.replica = replica

    # Not async: the read's own coroutine is awaited by the endpoint, with no frame between.
    def __call__(self, read: Callable[[Database], Awaitable[T]]) -> Awaitable[T]:
        if self.replica is None:
            return read(self.database)
        return self.replica.run(self.database, read)


async def get_reads(request: Request) -> Reads:
    """What the one-statement read endpoints take (``ReadOn``): with a replica, the replica
    while it is healthy and has replayed the client's X-Read-After, else the primary."""
    reads: Reads = request.state.reads
    replica = reads.replica
    if replica is None:
        return reads
    try:
        return Reads(await replica.database_for(request.headers.get(READ_AFTER)), replica)
    except ValueError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{READ_AFTER} must be a WAL position from a write's answer, such as 0/16B3748",
        ) from error


ReadOn = Annotated[Reads, Depends(get_reads)]
