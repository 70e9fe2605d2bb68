"""The results: results.md (table, targets, machine), results.json (everything, per round) and
results.png (a bar chart)."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # after the backend is chosen
from matplotlib.patches import Patch

from .measure import Measurement, Settings, headline
from .summary import Check, Row
from .targets import Kind

REFERENCES = (Kind.HAND_WRITTEN, Kind.HTTP_CEILING, Kind.DB_CEILING)

COLORS = {"pool": "#2b6cb0", "per_request": "#c05621", "pgbouncer": "#2f855a"}
REFERENCE_COLOR = "#a0aec0"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ms(p50: float | None, p99: float | None) -> str:
    return "-" if p50 is None or p99 is None else f"{p50:.1f} / {p99:.1f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pair(first: float | None, second: float | None) -> str:
    return "-" if first is None and second is None else f"{_times(first)} / {_times(second)}"


def _errors(row: Row) -> str:
    if row.failures:
        return f"failed ({len(row.failures)} round(s))"
    if row.kind == Kind.DB_CEILING:
        return "-"
    return str(row.socket_errors + row.status_errors)


def table(rows: list[Row]) -> str:
    lines = [
        "| target | reads req/s | writes req/s | reads p50 / p99 ms | writes p50 / p99 ms "
        "| errors | peak server conns | vs hand-written (reads / writes) | vs HTTP ceiling "
        "| vs DB ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        peak = "-" if row.peak_connections is None else str(row.peak_connections)
        cells = [
            f"*{row.label}*" if row.kind in REFERENCES else row.label,
            _rate(row.reads_rate),
            _rate(row.writes_rate),
            _ms(row.reads_p50_ms, row.reads_p99_ms),
            _ms(row.writes_p50_ms, row.writes_p99_ms),
            _errors(row),
            peak,
            _pair(row.vs_hand_written_reads, row.vs_hand_written_writes),
            _times(row.vs_http_ceiling),
            _times(row.vs_db_ceiling),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(
    rows: list[Row],
    checks: list[Check],
    settings: Settings,
    machine: dict[str, Any],
    rounds: int,
    *,
    level: int = 2,
    image: str = "results.png",
) -> str:
    """The results as Markdown, headed at ``level``, with the chart at ``image``."""
    heading, subheading = "#" * level, "#" * (level + 1)
    parts = [
        f"{heading} Results",
        "",
        f"Medians of {rounds} round(s); each round measures every target once, in turn. "
        f"{settings.connections} wrk clients, {settings.seconds} s of reads then "
        f"{settings.seconds} s of writes per target and round (after {settings.warmup} s of "
        f"unrecorded reads), one server process, pool of {settings.pool_size}. Ratios are "
        "reads req/s over the reference's (the hand-written ratio also for writes); a DB "
        "ceiling's figure is queries/s on the pool's number of connections, without HTTP. "
        "References are in *italics*. Errors: socket errors plus answers >= 400.",
        "",
        table(rows),
        "",
        f"![requests per second]({image})",
        "",
        f"{subheading} Targets (reported, not asserted)",
        "",
    ]
    for check in checks:
        parts.append(f"- {check.target}:")
        parts.extend(f"  - {finding}" for finding in check.findings)
    failures = [(row.id, failure) for row in rows for failure in row.failures]
    if failures:
        parts += ["", f"{subheading} Failures", ""]
        parts += [f"- {target}: `{headline(failure)}`" for target, failure in failures]
    parts += [
        "",
        f"{subheading} Machine",
        "",
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), {machine['platform']}, "
        f"Python {machine['python']}, PostgreSQL {machine['postgresql']} (clients log in with "
        f"{machine['authentication']}), {machine['wrk']}, {machine['pgbouncer']}; "
        f"run on {machine['date']}.",
        "",
    ]
    return "\n".join(parts)


def chart(rows: list[Row], path: Path) -> None:
    """Reads and writes per served target; the DB ceilings (no HTTP) are in the table only."""
    served = [row for row in rows if row.kind != Kind.DB_CEILING]
    figure, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(served) + 1.8), sharey=True)
    labels = [row.label for row in served]
    colors = [COLORS.get(row.strategy or "", REFERENCE_COLOR) for row in served]
    for axis, title, values in (
        (axes[0], "reads (GET /items/{id}), req/s", [row.reads_rate or 0 for row in served]),
        (axes[1], "writes (POST /items), req/s", [row.writes_rate or 0 for row in served]),
    ):
        positions = range(len(served))
        axis.barh(positions, values, color=colors)
        axis.set_yticks(list(positions), labels)
        axis.set_title(title)
        axis.grid(axis="x", alpha=0.3)
        for position, value in zip(positions, values, strict=True):
            axis.annotate(f" {value:,.0f}", (value, position), va="center", fontsize=8)
        axis.margins(x=0.15)
    axes[0].invert_yaxis()  # top to bottom in the table's order (the axes share it)
    strategies = {row.strategy for row in served}
    legend = [
        Patch(color=color, label=strategy)
        for strategy, color in COLORS.items()
        if strategy in strategies
    ]
    legend.append(Patch(color=REFERENCE_COLOR, label="reference (no template)"))
    figure.legend(handles=legend, loc="lower center", ncol=len(legend), frameon=False)
    figure.suptitle("Medians per target")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(
    output: Path,
    markdown_text: str,
    *,
    rows: list[Row],
    checks: list[Check],
    measurements: list[Measurement],
    settings: Settings,
    machine: dict[str, Any],
    rounds: int,
) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.md").write_text(markdown_text)
    (output / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "settings": {**asdict(settings), "rounds": rounds},
                "rows": [row.as_dict() for row in rows],
                "targets": [asdict(check) for check in checks],
                "measurements": [m.as_dict() for m in measurements],
            },
            indent=2,
        )
        + "\n"
    )
    chart(rows, output / "results.png")


README_START = "<!-- bench:results:start -->"
README_END = "<!-- bench:results:end -->"


def embed_in_readme(readme: Path, markdown_text: str) -> None:
    """Replace what lies between the README's markers with the latest results."""
    text = readme.read_text()
    before, start, rest = text.partition(README_START)
    _old, end, after = rest.partition(README_END)
    if not (start and end):
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} block to fill")
    readme.write_text(f"{before}{start}\n{markdown_text}\n{end}{after}")
