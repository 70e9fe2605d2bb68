"""From the rounds' measurements to one row per target: medians, and ratios to the references."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

from .load import LoadResult
from .measure import Measurement
from .targets import Kind, Target


@dataclass
class Row:
    id: str
    label: str
    kind: str
    driver: str | None
    strategy: str | None
    control_of: str | None
    rounds: int  # rounds measured without a failure
    failures: list[str]
    reads_rate: float | None = None  # median requests/s (queries/s for a DB ceiling)
    writes_rate: float | None = None
    reads_p50_ms: float | None = None
    reads_p99_ms: float | None = None
    writes_p50_ms: float | None = None
    writes_p99_ms: float | None = None
    socket_errors: int = 0  # over all rounds
    status_errors: int = 0
    peak_connections: int | None = None  # the highest over all rounds
    vs_hand_written_reads: float | None = None
    vs_hand_written_writes: float | None = None
    vs_http_ceiling: float | None = None  # reads
    vs_db_ceiling: float | None = None  # reads

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: Sequence[float]) -> float | None:
    return median(values) if values else None


def _load_figures(loads: list[LoadResult], prefix: str) -> dict[str, float | None]:
    return {
        f"{prefix}_rate": _median([load.rate for load in loads]),
        f"{prefix}_p50_ms": _median([load.p50_ms for load in loads]),
        f"{prefix}_p99_ms": _median([load.p99_ms for load in loads]),
    }


def summarize_target(target: Target, measurements: list[Measurement]) -> Row:
    done = [m for m in measurements if m.failure is None]
    reads = [m.reads for m in done if m.reads]
    writes = [m.writes for m in done if m.writes]
    loads = reads + writes
    peaks = [m.peak_connections for m in done if m.peak_connections is not None]
    row = Row(
        id=target.id,
        label=target.label,
        kind=str(target.kind),
        driver=target.driver,
        strategy=target.strategy,
        control_of=target.control_of,
        rounds=len(done),
        failures=[m.failure for m in measurements if m.failure],
        socket_errors=sum(load.socket_errors for load in loads),
        status_errors=sum(load.status_errors for load in loads),
        peak_connections=max(peaks) if peaks else None,
    )
    if target.kind is Kind.DB_CEILING:
        row.reads_rate = _median([m.db_rate for m in done if m.db_rate is not None])
    else:
        for key, value in {
            **_load_figures(reads, "reads"),
            **_load_figures(writes, "writes"),
        }.items():
            setattr(row, key, value)
    return row


def _ratio(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


def summarize(targets: list[Target], measurements: list[Measurement]) -> list[Row]:
    rows = [
        summarize_target(target, [m for m in measurements if m.target == target.id])
        for target in targets
    ]
    by_id = {row.id: row for row in rows}

    def reference(kind: Kind, driver: str | None) -> Row | None:
        return next(
            (r for r in rows if r.kind == kind and r.driver == driver and not r.control_of), None
        )

    http = by_id.get("http-ceiling")
    for row in rows:
        if row.kind not in (Kind.VARIANT, Kind.VARIANT_WITH_SETTINGS, Kind.HAND_WRITTEN):
            continue
        hand_written = reference(Kind.HAND_WRITTEN, row.driver)
        db = reference(Kind.DB_CEILING, row.driver)
        if (row.kind != Kind.HAND_WRITTEN or row.control_of) and hand_written:
            row.vs_hand_written_reads = _ratio(row.reads_rate, hand_written.reads_rate)
            row.vs_hand_written_writes = _ratio(row.writes_rate, hand_written.writes_rate)
        row.vs_http_ceiling = _ratio(row.reads_rate, http.reads_rate if http else None)
        row.vs_db_ceiling = _ratio(row.reads_rate, db.reads_rate if db else None)
    return rows


@dataclass(frozen=True)
class Check:
    """One of the issue's targets, as a finding: reported, never asserted."""

    target: str
    findings: list[str]


def _control_row(rows: list[Row]) -> Row | None:
    return next((row for row in rows if row.control_of), None)


def aa_noise(rows: list[Row]) -> float | None:
    """How far apart the A/A control puts two measurements of one app: the larger of its reads
    and writes differences, as a fraction."""
    control = _control_row(rows)
    if control is None:
        return None
    ratios = [control.vs_hand_written_reads, control.vs_hand_written_writes]
    measured = [abs(ratio - 1) for ratio in ratios if ratio is not None]
    return max(measured) if measured else None


def checks(rows: list[Row], *, connections: int, pool_size: int) -> list[Check]:
    variants = [row for row in rows if row.kind == Kind.VARIANT and row.rounds]
    noise = aa_noise(rows)
    return [
        Check("A/A control: one app measured as two targets", _control(rows, noise)),
        Check(
            "Every pool variant at least as fast as the hand-written app of its driver",
            _pool_vs_hand_written(variants, noise),
        ),
        Check(
            "Pool variants at least 10x per_request on reads",
            _pool_vs_per_request(variants, noise),
        ),
        Check(
            f"No errors at {connections / pool_size:.3g}x the pool size in clients "
            f"({connections} clients, pool of {pool_size})",
            _errors(rows),
        ),
        Check("Best variant against the lower ceiling", _best_vs_ceiling(rows, variants)),
    ]


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def _noise(noise: float | None) -> str:
    return "" if noise is None else f" (A/A noise {noise:.0%})"


def _control(rows: list[Row], noise: float | None) -> list[str]:
    control = _control_row(rows)
    if control is None or noise is None:
        return ["not measured"]
    reads, writes = control.vs_hand_written_reads, control.vs_hand_written_writes
    return [
        f"{control.control_of} measured twice: reads {_times(reads)}, writes {_times(writes)}; "
        f"a difference within {noise:.0%} is the machine's noise, not the code's"
    ]


def _pool_vs_hand_written(variants: list[Row], noise: float | None) -> list[str]:
    findings = []
    for row in variants:
        if row.strategy != "pool":
            continue
        ratios = (row.vs_hand_written_reads, row.vs_hand_written_writes)
        if None in ratios:
            findings.append(f"{row.id}: no hand-written figures to compare with")
            continue
        ok = all(ratio is not None and ratio >= 1 for ratio in ratios)
        findings.append(
            f"{row.id}: {_verdict(ok)}: reads {_times(ratios[0])}, writes {_times(ratios[1])}"
            + _noise(noise)
        )
    return findings or ["no pool variant measured"]


def _pool_vs_per_request(variants: list[Row], noise: float | None) -> list[str]:
    findings = []
    for row in variants:
        if row.strategy != "pool":
            continue
        per_request = next(
            (r for r in variants if r.driver == row.driver and r.strategy == "per_request"), None
        )
        if per_request is None:
            findings.append(f"{row.driver}: no per_request variant measured")
            continue
        ratio = _ratio(row.reads_rate, per_request.reads_rate)
        ok = ratio is not None and ratio >= 10
        findings.append(
            f"{row.driver}: {_verdict(ok)}: pool reads {_times(ratio)} per_request" + _noise(noise)
        )
    return findings or ["no pool variant measured"]


def _errors(rows: list[Row]) -> list[str]:
    findings = []
    for row in rows:
        if row.kind == Kind.DB_CEILING:
            continue
        if row.failures:
            findings.append(f"{row.id}: MISSED: failed in {len(row.failures)} round(s)")
        elif row.socket_errors or row.status_errors:
            findings.append(
                f"{row.id}: MISSED: {row.socket_errors} socket errors, "
                f"{row.status_errors} answers >= 400"
            )
    return findings or ["met: no target had an error"]


def _best_vs_ceiling(rows: list[Row], variants: list[Row]) -> list[str]:
    measured = [row for row in variants if row.reads_rate]
    if not measured:
        return ["no variant measured"]
    best = max(measured, key=_reads_rate)
    http = next((r for r in rows if r.kind == Kind.HTTP_CEILING and r.reads_rate), None)
    db = next((r for r in rows if r.kind == Kind.DB_CEILING and r.driver == best.driver), None)
    ceilings = [(r.label, r.reads_rate) for r in (http, db) if r and r.reads_rate]
    if not ceilings:
        return [f"{best.id}: no ceiling measured"]
    label, rate = min(ceilings, key=lambda ceiling: ceiling[1])
    return [
        f"{best.id} ({best.reads_rate:.0f} reads/s) reaches {_times(_ratio(best.reads_rate, rate))}"
        f" of the lower ceiling, {label} ({rate:.0f}/s)"
    ]


def _reads_rate(row: Row) -> float:
    return row.reads_rate or 0.0
