"""The demo report's picture of freshness over the run: per refresh, P50 and P95 seconds from
emitted_at to fct_donations (``ops.pipeline_freshness``) against the two-minute objective, as a
PNG beside the warehouse and as a terminal sparkline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from matplotlib.figure import Figure
from rich.console import Console
from sparklines import sparklines

from ingestion.config import warehouse

OBJECTIVE_SECONDS = 120.0


@dataclass(frozen=True)
class FreshnessSeries:
    refreshed_at: list[datetime]
    p50_seconds: list[float]
    p95_seconds: list[float]


def read_series(path: Path) -> FreshnessSeries:
    """One point per refresh that brought new gifts (the others measure nothing)."""
    with warehouse.connect(path) as con:
        rows = con.execute(
            """
            select refreshed_at, freshness_p50_seconds, freshness_p95_seconds
            from ops.pipeline_freshness
            where donation_count > 0
            order by refreshed_at
            """
        ).fetchall()
    return FreshnessSeries(
        refreshed_at=[r[0] for r in rows],
        p50_seconds=[float(r[1]) for r in rows],
        p95_seconds=[float(r[2]) for r in rows],
    )


def plot_path(warehouse_path: Path) -> Path:
    return warehouse_path.with_suffix(".freshness.png")


def write_png(series: FreshnessSeries, out: Path) -> Path:
    # A bare Figure, not pyplot: no GUI backend and no global state in a long-running process.
    figure = Figure(figsize=(9, 4), dpi=110)
    axes = figure.subplots()
    start = series.refreshed_at[0] if series.refreshed_at else None
    minutes = [(t - start).total_seconds() / 60 for t in series.refreshed_at] if start else []
    axes.plot(minutes, series.p95_seconds, marker="o", label="P95")
    axes.plot(minutes, series.p50_seconds, marker=".", label="P50")
    axes.axhline(OBJECTIVE_SECONDS, color="red", linestyle="--", label="2-minute objective")
    # Room above the objective line, so it never sits on the frame.
    axes.set_ylim(0, max([OBJECTIVE_SECONDS, *series.p95_seconds]) * 1.15)
    axes.set_ylabel("seconds, emitted_at → fct_donations")
    axes.set_xlabel(
        "minutes since the first refresh" + (f" ({start:%H:%M:%S} UTC)" if start else "")
    )
    axes.set_title("Freshness per refresh")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    return out


def sparkline(values: list[float]) -> str:
    """One character per refresh, scaled from zero so the bars compare across runs' shapes."""
    return sparklines(values, minimum=0)[0] if values else ""


def print_freshness(console: Console, warehouse_path: Path) -> Path:
    """The report's last word: the sparkline, the PNG's path, and where to look next."""
    series = read_series(warehouse_path)
    png = write_png(series, plot_path(warehouse_path))
    worst = max(series.p95_seconds, default=0.0)
    console.print(
        f"freshness P95 per refresh ({len(series.p95_seconds)} refreshes, 0 to {worst:,.0f} s; "
        f"objective {OBJECTIVE_SECONDS:.0f} s): {sparkline(series.p95_seconds)}"
    )
    console.print(f"freshness plot: {png}")
    console.print(
        "look at the run: `accfb dashboard` (http://127.0.0.1:8501), `accfb sql 'select ...'`, "
        "`accfb docs` (lineage, http://127.0.0.1:8081)"
    )
    return png
