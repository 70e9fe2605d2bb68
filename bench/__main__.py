"""``python -m bench``: measure what each driver and connection strategy costs.

Bakes the chosen variants, serves each against one PostgreSQL (BENCH_DATABASE_URL, else an
embedded one), loads it with wrk next to the references, and writes bench/results/.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from .load import wrk_binary
from .machine import describe
from .measure import Measurement, Settings, headline
from .pgbouncer import pgbouncer_binary
from .postgres import server_from_environment
from .report import embed_in_readme, markdown, write
from .runner import measure_rounds, prepared_targets, say
from .summary import checks, summarize
from .variants import Variant, chosen_variants

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
POOL_SIZE = 10
CLIENTS_PER_CONNECTION = 4  # the bar: no errors at 4x the pool size in clients


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--variants",
        help="comma-separated combinations, e.g. asyncpg-pool,psycopg-pool "
        "(default: every combination cookiecutter.json offers)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per load (default 5)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="unrecorded seconds of reads first (default 1)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all targets (3)")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=POOL_SIZE,
        help=f"DB_POOL_MIN_SIZE and DB_POOL_MAX_SIZE of every app ({POOL_SIZE})",
    )
    parser.add_argument(
        "--connections",
        type=int,
        help=f"concurrent wrk clients (default {CLIENTS_PER_CONNECTION}x the pool size)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where results go (default bench/results/; with --smoke a temporary directory)",
    )
    parser.add_argument(
        "--observability",
        action="store_true",
        help="also serve each variant with its access log on, and with its metrics off, "
        "to show what observing requests costs",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI: 1 s per load, one round, no warm-up; fails if a target cannot be served "
        "or a load sees socket errors",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.warmup, args.rounds = 1, 0, 1
    if args.connections is None:
        args.connections = CLIENTS_PER_CONNECTION * args.pool_size
    if min(args.duration, args.rounds, args.pool_size, args.connections) < 1 or args.warmup < 0:
        parser.error("durations, rounds, pool size and connections must be positive")
    return args


def runnable(variants: list[Variant]) -> list[Variant]:
    """The pgbouncer variants need PgBouncer: without it they are left out, saying so."""
    if pgbouncer_binary():
        return variants
    left_out = [variant.id for variant in variants if variant.strategy == "pgbouncer"]
    if left_out:
        say(
            "pgbouncer is not installed (apt-get install pgbouncer): "
            f"skipping {', '.join(left_out)}"
        )
    return [variant for variant in variants if variant.strategy != "pgbouncer"]


def smoke_failures(measurements: list[Measurement]) -> list[str]:
    failures = [f"{m.target}: {headline(m.failure)}" for m in measurements if m.failure]
    for m in measurements:
        for name, load in (("reads", m.reads), ("writes", m.writes)):
            if load and load.socket_errors:
                failures.append(f"{m.target}: {load.socket_errors} socket errors on {name}")
    return failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = wrk_binary()
    if not wrk:
        raise SystemExit("bench needs wrk to load the services: apt-get install wrk")
    variants = runnable(chosen_variants(args.variants))
    if not variants:
        raise SystemExit("no variant left to measure")
    settings = Settings(
        seconds=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        pool_size=args.pool_size,
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-work-") as work,
        server_from_environment() as server,
    ):
        work_dir = Path(work)
        say(f"PostgreSQL {server.version()}; variants: {', '.join(v.id for v in variants)}")
        with prepared_targets(
            variants, server, work_dir, observability=args.observability
        ) as targets:
            measurements = measure_rounds(
                targets,
                rounds=args.rounds,
                server=server,
                settings=settings,
                logs=work_dir / "logs",
            )
        machine = describe(server.version(), server.authentication, wrk, pgbouncer_binary())
        rows = summarize(targets, measurements)
        findings = checks(rows, connections=settings.connections, pool_size=settings.pool_size)
        output = args.output or (work_dir / "results" if args.smoke else RESULTS)
        text = markdown(rows, findings, settings, machine, args.rounds)
        write(
            output,
            text,
            rows=rows,
            checks=findings,
            measurements=measurements,
            settings=settings,
            machine=machine,
            rounds=args.rounds,
        )
        say("\n" + text)
        if output == RESULTS:
            embed_in_readme(
                README,
                markdown(
                    rows,
                    findings,
                    settings,
                    machine,
                    args.rounds,
                    level=3,
                    image=str(RESULTS.relative_to(ROOT) / "results.png"),
                ),
            )
            say(f"results in {output.relative_to(ROOT)}/, and in README.md")
    if args.smoke:
        failures = smoke_failures(measurements)
        if failures:
            say("bench smoke FAILED:\n" + "\n".join(f"- {failure}" for failure in failures))
            return 1
        say("bench smoke passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
