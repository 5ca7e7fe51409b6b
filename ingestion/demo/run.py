"""`accfb demo`: a few minutes of food-bank traffic with a spike, end to end, then a report.

Each demo gets its own stream, raw bucket and warehouse file, so a rerun never reads an earlier
run's records and its report speaks only of what it sent. Once the traffic is in, the processors'
settlement export of the demo's own gifts (with deliberate breaks) is dropped in the bucket and
loaded by the batch load, and the report shows finance's reconciliation of it; then each day of
the run is closed, exported to the run's audit bucket and verified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from ingestion.batch.loads import load_batches
from ingestion.batch.sources import BATCH_SOURCES
from ingestion.config import aws, dbt
from ingestion.config.settings import Settings
from ingestion.demo.pipeline import PipelineRun, RunProgress
from ingestion.demo.report import (
    compare_donations,
    read_counts,
    read_donations,
    read_reconciliation_statuses,
)
from ingestion.demo.simulator import FaultRates, demo_schedule
from ingestion.demo.simulator.settlements import SettlementExport, settlement_export
from ingestion.demo.simulator.truth import Expected
from ingestion.local import localaws
from ingestion.operations import audit
from ingestion.operations.close import close, revisions
from ingestion.operations.close import rows as warehouse_rows
from ingestion.serving import copy as serving
from ingestion.serving.freshness_plot import print_freshness


def _progress_table(progress: RunProgress, seconds: float) -> Table:
    elapsed = time.monotonic() - progress.started
    table = Table(title="accfb demo", show_header=False)
    table.add_row("elapsed", f"{elapsed:,.0f} s ({seconds:,.0f} s of traffic, then what is owed)")
    table.add_row("sent", f"{progress.generated:,}")
    table.add_row("landed", f"{progress.landed:,}")
    table.add_row("archived", f"{progress.archived:,}")
    last = progress.last_refresh_seconds
    table.add_row("refreshes", f"{progress.refreshes}" + (f" (last {last:.1f} s)" if last else ""))
    table.add_row("memory", f"{progress.peak_rss_bytes / 2**20:,.0f} MiB peak")
    return table


def settle(settings: Settings, expected: Expected) -> SettlementExport:
    """Drop the settlement export of the run's gifts, load it, rebuild what reads it (as the
    daily settlement DAG does)."""
    export = settlement_export(expected.donations.values())
    source = BATCH_SOURCES["settlements"]
    aws.client("s3", settings).put_object(
        Bucket=settings.raw_bucket,
        Key=f"{source.prefix}{datetime.now(UTC):%Y-%m-%d}.csv",
        Body=export.csv.encode(),
    )
    load_batches(settings, [source.name])
    dbt.run_dbt(settings, ["build", "--select", f"source:{source.table}+"])
    serving.publish(settings)
    return export


@dataclass(frozen=True)
class ClosedDay:
    day: date
    gifts: int
    net_cents: int
    exported_to: str
    checks: int
    differing: int


def close_and_audit(settings: Settings) -> list[ClosedDay]:
    """Close every day the run's gifts fall on (today's too: the demo's traffic is all of
    today, so it closes early, as the settlement DAG would the next day), export each to the
    run's audit bucket and verify the export against the files and the warehouse."""
    # Days to come hold only settlements the simulated processors date ahead: not closeable.
    days = [
        day
        for (day,) in warehouse_rows(
            settings,
            "select close_date from marts.rpt_daily_close where close_date <= ? "
            "order by close_date",
            [datetime.now(UTC).date()],
        )
    ]
    closed = []
    for day in days:
        close(settings, day, open_day=True)
        report = audit.export(settings, day)
        verified = audit.verify(settings, day)
        checks = [*verified.package, *(verified.warehouse or [])]
        [frozen] = [r for r in revisions(settings, day) if r.revision == 0]
        closed.append(
            ClosedDay(
                day,
                frozen.gift_count,
                frozen.net_amount_cents,
                f"{report.prefix}/",
                len(checks),
                sum(1 for c in checks if not c.ok),
            )
        )
    return closed


def run_demo(
    base: Settings, *, console: Console, seconds: float, refresh_interval: float, seed: int
) -> bool:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    settings = base.model_copy(
        update={
            "stream_name": f"{base.stream_name}-demo-{run_id.lower()}",
            # Its own archive too: local sequence numbers restart with each stream, and the
            # archiver's checkpoint is the objects in its bucket.
            "raw_bucket": f"{base.raw_bucket}-demo-{run_id.lower()}",
            "audit_bucket": f"{base.audit_bucket}-demo-{run_id.lower()}",
            "warehouse_path": base.state_dir / "demo" / f"{run_id}.duckdb",
        }
    )
    localaws.ensure_up(settings)
    console.print(
        f"stream {settings.stream_name}; archive s3://{settings.raw_bucket}; "
        f"warehouse {settings.warehouse_path}"
    )
    run = PipelineRun(
        settings,
        schedule=demo_schedule(seconds),
        seed=seed,
        faults=FaultRates(),
        refresh_interval_seconds=refresh_interval,
    )
    with Live(console=console, refresh_per_second=2) as live:
        result = run.run(on_tick=lambda p: live.update(_progress_table(p, seconds)))

    expected = result.expected
    console.print("settling: the processors' export of the run's gifts, loaded and reconciled")
    settlement = settle(settings, expected)
    console.print("closing: each day of the run closed, exported to the audit bucket, verified")
    closed_days = close_and_audit(settings)
    counts = read_counts(settings.warehouse_path)
    statuses = read_reconciliation_statuses(settings.warehouse_path)
    comparison = compare_donations(
        expected.donation_amounts(), read_donations(settings.warehouse_path)
    )

    summary = Table(title="What happened")
    summary.add_column("")
    summary.add_column("expected", justify="right")
    summary.add_column("warehouse", justify="right")
    summary.add_row("records produced (accepted by Kinesis)", f"{expected.records:,}", "")
    summary.add_row("records landed", f"{expected.records:,}", f"{counts.landed:,}")
    summary.add_row(
        "records archived (raw bucket)", f"{expected.records:,}", f"{result.progress.archived:,}"
    )
    summary.add_row("quarantined", f"{expected.quarantined_records:,}", f"{counts.quarantined:,}")
    summary.add_row(
        "deduplicated (same event_id again)",
        f"{expected.duplicate_deliveries:,}",
        f"{counts.valid_records - counts.distinct_events:,}",
    )
    summary.add_row(
        "distinct valid events", f"{expected.distinct_event_ids:,}", f"{counts.distinct_events:,}"
    )
    summary.add_row("donations", f"{len(expected.donations):,}", f"{counts.donations:,}")

    campaigns = Table(title="Donations by campaign")
    campaigns.add_column("campaign")
    campaigns.add_column("gifts", justify="right")
    campaigns.add_column("net $", justify="right")
    for campaign, (gifts, net) in counts.net_cents_by_campaign.items():
        campaigns.add_row(campaign, f"{gifts:,}", f"{net / 100:,.2f}")

    freshness = Table(title="Freshness: emitted_at → fct_donations")
    for name in ("p50", "p95", "p99", "max"):
        freshness.add_column(name, justify="right")
    freshness.add_row(
        *(f"{v:,.1f} s" if v is not None else "-" for v in counts.freshness_seconds.values())
    )
    reconciliation = Table(title="Settlement reconciliation (rpt_settlement_reconciliation)")
    reconciliation.add_column("status")
    reconciliation.add_column("expected", justify="right")
    reconciliation.add_column("warehouse", justify="right")
    for status in sorted(set(settlement.expected_statuses) | set(statuses)):
        reconciliation.add_row(
            status,
            f"{settlement.expected_statuses[status]:,}",
            f"{statuses.get(status, 0):,}",
        )
    close_table = Table(title="Period close and audit export (rpt_closed_days, audit bucket)")
    for column in (
        "day",
        "gifts",
        "net $",
        f"exported to s3://{settings.audit_bucket}/",
        "verified",
    ):
        close_table.add_column(column, justify="right" if column in {"gifts", "net $"} else "left")
    for c in closed_days:
        close_table.add_row(
            str(c.day),
            f"{c.gifts:,}",
            f"{c.net_cents / 100:,.2f}",
            c.exported_to,
            "ok" if c.differing == 0 else f"{c.differing} of {c.checks} differ",
        )
    console.print(Group(summary, campaigns, freshness, reconciliation, close_table))
    console.print(f"quarantine reasons: {dict(counts.quarantine_by_reason)}")

    reconciled = statuses == dict(settlement.expected_statuses)
    audited = bool(closed_days) and all(c.differing == 0 for c in closed_days)
    if not audited:
        console.print("[red]a closed day's audit export does not verify[/red]")
    ok = (
        audited
        and comparison.ok
        and counts.landed == expected.records == result.progress.archived
        and result.produce.ok
        and reconciled
    )
    if not reconciled:
        console.print("[red]the settlement reconciliation does not match the export's breaks[/red]")
    if not result.produce.ok:
        console.print(
            f"[red]{result.produce.failed_count} records were not accepted by Kinesis "
            f"(all in {result.produce.dead_letters})[/red]"
        )
    for problem, rows in (
        ("missing from fct_donations", comparison.missing),
        ("in fct_donations but never sent", comparison.unexpected),
        ("with wrong amounts", comparison.wrong_amounts),
    ):
        if rows:
            console.print(f"[red]{len(rows)} donations {problem}[/red], e.g. {rows[:3]}")
    console.print(
        "[green]every valid event produced is in the warehouse, counted once[/green]"
        if ok
        else "[red]the warehouse does not match what was produced[/red]"
    )
    print_freshness(console, settings.warehouse_path)
    return ok
