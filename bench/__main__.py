"""``python -m bench``: measure what each driver and connection strategy costs.

Bakes the chosen variants, serves each against one PostgreSQL (BENCH_DATABASE_URL, else an
embedded one), loads it with wrk next to the references, and writes bench/results/.
"""

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

from .instructions import POOL_SIZE as INSTRUCTIONS_POOL_SIZE
from .instructions import REQUESTS, Count, count, failures, over_the_guard, valgrind_binary
from .instructions import markdown as instructions_markdown
from .load import wrk_binary
from .machine import describe
from .measure import Measurement, Settings, headline
from .pgbouncer import pgbouncer_binary
from .postgres import server_from_environment, streaming_replica
from .report import embed_in_readme, markdown, write
from .runner import measure_rounds, prepared_targets, say
from .summary import checks, summarize
from .targets import Kind, Target
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
        "--instructions",
        action="store_true",
        help="count instructions per request with callgrind (each variant and its driver's "
        "hand-written app, in-process) instead of loading servers with wrk",
    )
    parser.add_argument(
        "--guard",
        type=float,
        metavar="RATIO",
        help="with --instructions: fail when a pool variant needs more than RATIO times the "
        "instructions per request of its hand-written app (reads, writes or crowded reads)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="also serve each pool and per_request variant reading from a streaming replica "
        "of the embedded server (DATABASE_REPLICA_URL), beside the variant without one",
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
    if args.guard is not None and not args.instructions:
        parser.error("--guard goes with --instructions")
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


def count_instructions(args: argparse.Namespace) -> int:
    if not valgrind_binary():
        raise SystemExit("--instructions needs callgrind: apt-get install valgrind")
    variants = runnable(chosen_variants(args.variants))
    with (
        tempfile.TemporaryDirectory(prefix="bench-work-") as work,
        server_from_environment() as server,
        streaming_replica(server) if args.replica else nullcontext() as replica,
    ):
        work_dir = Path(work)
        say(f"PostgreSQL {server.version()}; variants: {', '.join(v.id for v in variants)}")
        with prepared_targets(
            variants, server, work_dir, replica=replica, pool_size=INSTRUCTIONS_POOL_SIZE
        ) as prepared:
            # Counts need no A/A control: the same code gives the same count. The settings'
            # twins are counted for the replica only: the others' costs are in wall time.
            targets = [
                t
                for t in prepared
                if (t.kind in (Kind.VARIANT, Kind.HAND_WRITTEN) or t.id.endswith("+replica"))
                and t.control_of is None
            ]
            logs = work_dir / "logs"
            logs.mkdir()

            def counted(target: Target) -> Count:
                started = time.monotonic()
                result = count(target, server=server, logs=logs)
                figures = (
                    result.failure
                    or f"{result.reads:,.0f} per read, {result.writes:,.0f} per write, "
                    f"{result.crowded_reads:,.0f} per crowded read"
                )
                say(f"{target.id:<28} {figures} ({time.monotonic() - started:.0f} s)")
                return result

            # Two at a time: a count does not depend on what else runs.
            with ThreadPoolExecutor(max_workers=2) as pool:
                counts = {c.target: c for c in pool.map(counted, targets)}
        text = instructions_markdown(targets, counts, REQUESTS)
        say("\n" + text)
        output = args.output or RESULTS
        output.mkdir(parents=True, exist_ok=True)
        (output / "instructions.md").write_text(text)
        (output / "instructions.json").write_text(
            json.dumps([c.as_dict() for c in counts.values()], indent=2) + "\n"
        )
    problems = failures(counts)
    if args.guard is not None:
        problems += over_the_guard(targets, counts, args.guard)
    if problems:
        say("instruction counts FAILED:\n" + "\n".join(f"- {p}" for p in problems))
        return 1
    if args.guard is not None:
        say(f"every pool variant within {args.guard:.2f}x its hand-written app's instructions")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.instructions:
        return count_instructions(args)
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
        streaming_replica(server) if args.replica else nullcontext() as replica,
    ):
        work_dir = Path(work)
        say(f"PostgreSQL {server.version()}; variants: {', '.join(v.id for v in variants)}")
        with prepared_targets(
            variants,
            server,
            work_dir,
            observability=args.observability,
            replica=replica,
            pool_size=args.pool_size,
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
