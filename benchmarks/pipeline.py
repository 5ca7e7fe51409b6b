"""Benchmark: the whole local pipeline at a target rate, printed as a table.

    .venv/bin/python benchmarks/pipeline.py --rate 800 --seconds 60
    .venv/bin/python benchmarks/pipeline.py --rate 8000 --seconds 60

Each run gets its own stream and warehouse on the local endpoint (started if absent). Events are
padded to --event-bytes (default 2,048: the contract's typical 1-4 KB) with an extra envelope
field. Freshness is emitted_at → first appearance in fct_donations, so it includes the producer
falling behind its schedule, the lander, and the refresh cadence.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from ingestion.config.settings import Settings
from ingestion.demo.pipeline import PipelineRun
from ingestion.demo.report import compare_donations, read_counts, read_donations
from ingestion.demo.simulator import PROFILES, FaultRates, Phase
from ingestion.local import localaws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=800, help="events per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--refresh-interval", type=float, default=60)
    parser.add_argument("--event-bytes", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("ACCFB_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    base = Settings.from_environment()
    run_id = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    settings = base.model_copy(
        update={
            "stream_name": f"bench-{args.rate}-{run_id}",
            # the run archives (ingestion/demo/pipeline.py)
            "raw_bucket": f"bench-{args.rate}-{run_id}",
            "warehouse_path": base.state_dir / "bench" / f"{args.rate}-{run_id}.duckdb",
        }
    )
    localaws.ensure_up(settings)
    profile = replace(
        PROFILES["emergency" if args.rate >= 3000 else "normal"], events_per_second=args.rate
    )
    run = PipelineRun(
        settings,
        schedule=[Phase(profile, args.seconds)],
        seed=args.seed,
        faults=FaultRates(),
        refresh_interval_seconds=args.refresh_interval,
        pad_to_bytes=args.event_bytes,
    )
    started = time.monotonic()
    result = run.run()
    wall = time.monotonic() - started

    counts = read_counts(settings.warehouse_path)
    expected = result.expected
    comparison = compare_donations(
        expected.donation_amounts(), read_donations(settings.warehouse_path)
    )
    produced = result.produce.accepted
    refreshes = result.progress.refresh_seconds

    table = Table(
        title=f"Pipeline benchmark: target {args.rate:,} events/s for {args.seconds:.0f} s, "
        f"~{args.event_bytes:,} B events, refresh every {args.refresh_interval:.0f} s"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("records produced (accepted by Kinesis)", f"{produced:,}")
    lag = sorted(result.progress.send_lag_samples) or [0.0]
    table.add_row(
        "producer send lag behind schedule p50 / p95 / max (s)",
        f"{lag[len(lag) // 2]:.2f} / {lag[int(len(lag) * 0.95)]:.2f} / {lag[-1]:.2f}",
    )
    table.add_row("records landed", f"{counts.landed:,}")
    table.add_row("landed / produced", f"{counts.landed / produced:.4f}")
    table.add_row(
        "valid events in warehouse / expected",
        f"{counts.distinct_events:,} / {expected.distinct_event_ids:,}",
    )
    table.add_row(
        "donations in fct_donations / expected",
        f"{counts.donations:,} / {len(expected.donations):,}",
    )
    table.add_row("mart equals truth (amounts to the cent)", "yes" if comparison.ok else "NO")
    table.add_row("dbt refreshes", f"{len(refreshes)}")
    table.add_row(
        "refresh wall s (median / max)",
        f"{statistics.median(refreshes):.1f} / {max(refreshes):.1f}",
    )
    for name, value in counts.freshness_seconds.items():
        table.add_row(f"freshness {name} (s)", f"{value:,.1f}" if value is not None else "-")
    table.add_row(
        "peak RSS, pipeline + endpoint (MiB)", f"{result.progress.peak_rss_bytes / 2**20:,.0f}"
    )
    table.add_row("wall time (s)", f"{wall:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
