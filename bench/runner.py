"""Preparing the targets (bakes, databases) and measuring them in alternating rounds."""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .measure import Measurement, Settings, measure
from .postgres import Server, database_name, scratch_database, seed_items
from .targets import (
    Kind,
    Target,
    aa_control,
    driver_references,
    http_ceiling,
    observability_twins,
    replica_twin,
    variant_target,
)
from .variants import Bake, Variant, bake


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def prepared_targets(
    variants: list[Variant],
    server: Server,
    work_dir: Path,
    *,
    observability: bool = False,
    replica: Server | None = None,
    pool_size: int = 10,
) -> Iterator[list[Target]]:
    """Bake and sync every variant, give each (and each driver's references) a migrated and
    seeded database of its own; the databases are dropped after the block. With a replica of
    the server, each variant (but behind PgBouncer) has a twin that reads from it. In measuring
    order: the HTTP ceiling, then per driver its DB ceiling, its hand-written app and its variants,
    then the A/A control: the first hand-written app again."""
    started = time.monotonic()
    bakes = [bake(variant, work_dir) for variant in variants]
    # Two at a time: a sync with a warm cache is mostly uv starting and linking files.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(Bake.sync, bakes))
    say(f"baked and synced {len(bakes)} variants in {time.monotonic() - started:.1f} s")
    with ExitStack() as databases:
        started = time.monotonic()
        targets = [http_ceiling(bakes[0])]
        to_migrate: list[tuple[Bake, str]] = []

        def new_database(bake: Bake, name: str) -> str:
            url = databases.enter_context(scratch_database(server, name))
            to_migrate.append((bake, url))
            return url

        for driver in dict.fromkeys(variant.driver for variant in variants):
            driver_bakes = [b for b in bakes if b.variant.driver == driver]
            # The references run in the environment of a bake of their driver.
            targets += driver_references(driver_bakes[0], new_database(driver_bakes[0], driver))
            for driver_bake in driver_bakes:
                variant = variant_target(
                    driver_bake, new_database(driver_bake, driver_bake.variant.id)
                )
                targets += [variant, *(observability_twins(variant) if observability else [])]
                if replica is not None and variant.strategy != "pgbouncer":
                    assert variant.database_url
                    replica_url = replica.database_url(database_name(variant.database_url))
                    targets.append(replica_twin(variant, replica_url, pool_size))
        # Last, as far in each round from its twin as it can be.
        targets.append(aa_control(next(t for t in targets if t.kind is Kind.HAND_WRITTEN)))
        # Two at a time as well: each migration is mostly an interpreter starting up.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: migrate_and_seed(*job), to_migrate))
        say(
            f"migrated and seeded {len(to_migrate)} databases in {time.monotonic() - started:.1f} s"
        )
        yield targets


def migrate_and_seed(bake: Bake, database_url: str) -> None:
    bake.migrate(database_url)
    seed_items(database_url)


def measure_rounds(
    targets: list[Target], *, rounds: int, server: Server, settings: Settings, logs: Path
) -> list[Measurement]:
    """Every target once per round, in turn (A B C A B C ...), so that a slow spell of a busy
    machine spreads over all of them instead of deciding between two."""
    logs.mkdir(parents=True, exist_ok=True)
    measurements = []
    for round_ in range(1, rounds + 1):
        for target in targets:
            started = time.monotonic()
            measurement = measure(target, round_, server=server, settings=settings, logs=logs)
            measurements.append(measurement)
            say(
                f"round {round_}/{rounds} {target.id:<28} {describe(measurement)} "
                f"({time.monotonic() - started:.1f} s)"
            )
    return measurements


def describe(measurement: Measurement) -> str:
    if measurement.failure:
        return f"FAILED: {measurement.failure}"
    if measurement.db_rate is not None:
        return f"{measurement.db_rate:,.0f} queries/s"
    parts = []
    for name, load in (("reads", measurement.reads), ("writes", measurement.writes)):
        if load:
            errors = f", {load.socket_errors}+{load.status_errors} errors" if load.errors else ""
            parts.append(f"{name} {load.rate:,.0f}/s p99 {load.p99_ms:.1f} ms{errors}")
    if measurement.peak_connections is not None:
        parts.append(f"peak {measurement.peak_connections} server conns")
    return "; ".join(parts)
