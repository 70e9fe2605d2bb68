"""Instructions per request: each target's app driven in-process (bench/in_process.py) on a real
pool, under callgrind, with its instrumentation on only around the measured requests.

A count, not a time: the same code gives the same figure within half a percent on an
idle or a busy machine, so a 2% change shows where wrk's req/s vary by 13% between two
identical servers. It leaves out what every target shares (uvicorn, the kernel, the client), so
its ratios are the apps' own and larger than the req/s ratios.
"""

import shutil
import subprocess
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.baking import clean_env

from .pgbouncer import pgbouncer
from .postgres import Server
from .serving import tail
from .targets import REFERENCE_APPS, Kind, Target
from .variants import PACKAGE

DRIVER = Path(__file__).resolve().with_name("in_process.py")
KINDS = ("reads", "writes", "crowded_reads")
REQUESTS = 200  # per kind: enough that the switching of the instrumentation is lost in it
# Requests made at once for crowded_reads: four times the pool of two every app is given here,
# as wrk's clients are four times the pool, so that what a request costs only when it waits for
# a connection (a pool's queue, a lock, a task or timer per wait) is counted too.
IN_FLIGHT = 8
POOL_SIZE = 2
STEP_TIMEOUT = 600  # seconds for one step under callgrind (an app starting, 200 requests)


class CountFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Count:
    target: str
    reads: float | None = None  # instructions per request
    writes: float | None = None
    crowded_reads: float | None = None  # reads made IN_FLIGHT at once
    failure: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "reads": self.reads,
            "writes": self.writes,
            "crowded_reads": self.crowded_reads,
            "failure": self.failure,
        }


def valgrind_binary() -> str | None:
    return shutil.which("valgrind") if shutil.which("callgrind_control") else None


def count(target: Target, *, server: Server, logs: Path, requests: int = REQUESTS) -> Count:
    """Never raises for a target that cannot be counted: the failure is recorded, with the
    end of its log."""
    log = logs / f"{target.id}.callgrind.log"
    try:
        with ExitStack() as stack:
            database_url = target.database_url or ""
            if target.behind_pgbouncer:
                database_url = stack.enter_context(
                    pgbouncer(server, database_url, log.with_suffix(".pgbouncer.log"))
                )
            per_request = _counted(target, database_url, logs / target.id, log, requests)
        return Count(target.id, **per_request)
    except (CountFailed, OSError, subprocess.SubprocessError) as error:
        return Count(target.id, failure=f"{target.id}: {error}\n{tail(log, lines=15)}")


def _counted(
    target: Target, database_url: str, out_dir: Path, log: Path, requests: int
) -> dict[str, float]:
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    out_file = out_dir / "callgrind.out"
    app = (
        ["--factory", f"{PACKAGE}.app:create_app"]
        if target.is_variant
        else ["--script", str(REFERENCE_APPS / f"{target.driver}.py")]
    )
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_file}",
        str(target.bake.path / ".venv" / "bin" / "python"),
        "-P",  # the benchmark's directory holds modules named as drivers (reference_apps/)
        str(DRIVER),
        *app,
        f"--in-flight={IN_FLIGHT}",
        str(requests),
    ]
    env = clean_env(
        DATABASE_URL=database_url,
        DB_POOL_MIN_SIZE=str(POOL_SIZE),
        DB_POOL_MAX_SIZE=str(POOL_SIZE),
        LOG_LEVEL="warning",
        PYTHONHASHSEED="0",  # the same hashes, the same instructions, run after run
        **dict(target.env),
    )
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=target.bake.path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        # A step that hangs (an app that never answers) is killed, which ends the wait for it.
        watchdog = threading.Timer(STEP_TIMEOUT * (2 + len(KINDS)), process.kill)
        watchdog.start()
        try:
            _expect(process, "ready")
            _control(process.pid, "--instr=on")
            for kind in KINDS:
                _send(process, kind)
                _expect(process, "done")
                _control(process.pid, f"--dump={kind}")  # and zero: the next kind starts at 0
            _control(process.pid, "--instr=off")
            _send(process, "exit")
            if process.wait(timeout=STEP_TIMEOUT) != 0:
                raise CountFailed(f"exited {process.returncode}")
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
    totals = [_total(dump) for dump in _dumps(out_file)]
    if len(totals) != len(KINDS) or min(totals) <= 0:
        raise CountFailed(f"expected {len(KINDS)} dumps with instructions, found {totals}")
    return {kind: total / requests for kind, total in zip(KINDS, totals, strict=True)}


def _send(process: subprocess.Popen[str], word: str) -> None:
    stdin: IO[str] = process.stdin  # type: ignore[assignment]
    stdin.write(word + "\n")
    stdin.flush()


def _expect(process: subprocess.Popen[str], word: str) -> None:
    stdout: IO[str] = process.stdout  # type: ignore[assignment]
    line = stdout.readline().strip()
    if line != word:
        process.kill()
        process.wait()
        raise CountFailed(f"expected {word!r} from the app, got {line!r}")


def _control(pid: int, option: str) -> None:
    subprocess.run(
        ["callgrind_control", option, str(pid)],
        check=True,
        capture_output=True,
        timeout=STEP_TIMEOUT,
    )


def _dumps(out_file: Path) -> list[Path]:
    """The dumps asked for, in order: callgrind names them <file>.1, <file>.2, ..."""
    numbered = [p for p in out_file.parent.glob(out_file.name + ".*") if p.suffix[1:].isdigit()]
    return sorted(numbered, key=lambda p: int(p.suffix[1:]))


def _total(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise CountFailed(f"no totals in {dump.name}")


def hand_written_of(
    target: Target, targets: list[Target], counts: dict[str, Count]
) -> Count | None:
    reference = next(
        (t for t in targets if t.kind is Kind.HAND_WRITTEN and t.driver == target.driver), None
    )
    return counts.get(reference.id) if reference else None


def ratio(value: float | None, reference: float | None) -> float | None:
    return value / reference if value and reference else None


def markdown(targets: list[Target], counts: dict[str, Count], requests: int) -> str:
    lines = [
        "## Instructions per request",
        "",
        f"Counted by callgrind over {requests} reads (`GET /items/1`) and {requests} writes "
        f"(`POST /items`) made one at a time, then {requests} reads made {IN_FLIGHT} at once "
        f"(crowded: most wait for one of the pool's {POOL_SIZE} connections), each app driven "
        "in-process on a real pool (no server, no client) and on uvloop, as uvicorn serves it; "
        "the same code gives the same count within half a percent, however busy the machine. "
        "Ratios are over the hand-written app of the driver: lower is better.",
        "",
        "| target | instructions per read | per write | per crowded read "
        "| vs hand-written (reads / writes / crowded reads) |",
        "|---|---:|---:|---:|---:|",
    ]
    for target in targets:
        own = counts[target.id]
        if own.failure:
            lines.append(f"| {target.label} | failed | failed | failed | - |")
            continue
        label = target.label if target.is_variant else f"*{target.label}*"
        reference = hand_written_of(target, targets, counts) if target.is_variant else None
        versus = "-"
        if reference:
            versus = " / ".join(
                _times(ratio(getattr(own, kind), getattr(reference, kind))) for kind in KINDS
            )
        figures = " | ".join(_thousands(getattr(own, kind)) for kind in KINDS)
        lines.append(f"| {label} | {figures} | {versus} |")
    return "\n".join(lines) + "\n"


def failures(counts: dict[str, Count]) -> list[str]:
    return [count.failure.splitlines()[0] for count in counts.values() if count.failure]


def over_the_guard(targets: list[Target], counts: dict[str, Count], limit: float) -> list[str]:
    """The pool variants that need more than ``limit`` times the instructions of their
    hand-written app, for any kind of request."""
    problems = []
    for target in targets:
        reference = hand_written_of(target, targets, counts)
        if (
            target.kind is not Kind.VARIANT  # a twin served with other settings: not guarded
            or target.strategy != "pool"
            or reference is None
            or counts[target.id].failure
        ):
            continue
        for kind in KINDS:
            times = ratio(getattr(counts[target.id], kind), getattr(reference, kind))
            if times is not None and times > limit:
                problems.append(f"{target.id}: {kind} {times:.2f}x the hand-written app's")
    return problems


def _thousands(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:,.0f}k"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
