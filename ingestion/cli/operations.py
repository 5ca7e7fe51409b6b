"""Operations commands: reconcile, trace, checks, cost, the contract's SQL and local Airflow."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestion.cli.app import app, console, load_settings, window
from ingestion.local import localaws
from ingestion.operations.cost.command import cost

app.command("cost")(cost)


@app.command()
def reconcile(
    start: Annotated[str, typer.Option(help="Window start: arrival time, ISO 8601 with a zone")],
    end: Annotated[str, typer.Option(help="Window end, exclusive")],
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources' records (repeatable)")
    ] = None,
) -> None:
    """Compare archive, landings and fct_donations for a window; exit 1 on any difference."""
    from rich.table import Table

    from ingestion.operations.reconcile import reconcile as reconcile_window

    span = window(start, end)
    settings = load_settings()
    localaws.ensure_up(settings)
    rows = reconcile_window(settings, span, source or ())
    table = Table(title=f"reconcile {start} → {end}")
    for column in ("check", "archive", "warehouse", "archive cents", "warehouse cents", ""):
        table.add_column(column, justify="left" if column == "check" else "right")
    for row in rows:
        table.add_row(
            row.check,
            f"{row.archive_count:,}",
            f"{row.warehouse_count:,}",
            "" if row.archive_cents is None else f"{row.archive_cents:,}",
            "" if row.warehouse_cents is None else f"{row.warehouse_cents:,}",
            "[green]ok[/green]" if row.ok else "[red]DIFFERS[/red]",
        )
    console.print(table)
    if not all(row.ok for row in rows):
        raise typer.Exit(1)


@app.command()
def trace(donation_id: str) -> None:
    """Every raw record behind a gift (archive key, stream position, verdict) and its mart rows."""
    from ingestion.operations.trace import trace as trace_gift

    settings = load_settings()
    localaws.ensure_up(settings)
    found = trace_gift(settings, donation_id)
    # One block per record, not a table: archive keys and sequence numbers are long and an
    # auditor needs them whole.
    console.print(f"[bold]{len(found.records)} raw record(s) naming {donation_id}[/bold]")
    for r in found.records:
        console.print(
            f"- {r.event_type or '?'} {r.event_id or '(no event_id)'}: {r.verdict}\n"
            f"  stream {r.shard_id}/{r.sequence_number}, arrived {r.arrived_at.isoformat()}, "
            f"landed by {r.landed_by}\n"
            f"  archive {r.archive_key or '[red]not archived[/red]'}",
            soft_wrap=True,
        )
    for f in found.failed:
        arrived = f.arrived_at.isoformat() if f.arrived_at else "unknown"
        console.print(
            f"- [red]not archived[/red]: the archive's transform failed it ({f.error_code}), "
            f"arrived {arrived}\n  errors/ object s3://{settings.raw_bucket}/{f.key}",
            soft_wrap=True,
        )
    for table_name, rows in found.curated.items():
        console.print(f"[bold]{table_name}[/bold]: {len(rows)} row(s)")
        for row in rows:
            console.print(row)
    if not found.records and not found.failed:
        raise typer.Exit(1)


@app.command()
def check() -> None:
    """Verify every public mart's Soda contract against the warehouse."""
    from ingestion.operations.checks import ChecksUnavailable, run_checks

    try:
        report = run_checks(load_settings())
    except ChecksUnavailable as unavailable:
        console.print(f"[red]ERROR[/red] {unavailable}", soft_wrap=True)
        raise typer.Exit(1) from None
    for failure in report.failures:
        console.print(
            f"[red]FAILED[/red] {failure.contract}: {failure.check} ({failure.column}): "
            f"measured {failure.measured}; threshold {failure.threshold}"
        )
    for error in report.errors:
        console.print(f"[red]ERROR[/red] {error}")
    console.print(
        f"{len(report.contracts)} contracts, {report.checks} checks, {len(report.failures)} failed"
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command("contract-sql")
def contract_sql(
    check: Annotated[bool, typer.Option("--check", help="Fail if the macro is stale")] = False,
) -> None:
    """Regenerate the dbt macro of contract checks from the JSON Schemas."""
    from ingestion.contract import load_schemas
    from ingestion.contract.sql import MACRO_PATH, render_macro, write_macro

    schemas = load_schemas()
    if check:
        current = MACRO_PATH.read_text() if MACRO_PATH.exists() else ""
        if current != render_macro(schemas):
            console.print(f"[red]{MACRO_PATH} is stale: run `accfb contract-sql`[/red]")
            raise typer.Exit(1)
        return
    console.print("rewritten" if write_macro(schemas) else "up to date")


@app.command()
def airflow(port: Annotated[int, typer.Option(help="API server and UI port")] = 8080) -> None:
    """Run Airflow 3 on 127.0.0.1 with the DAGs wired to the local default (Ctrl-C stops)."""
    from ingestion.local.airflow import run_local

    console.print(f"Airflow at http://127.0.0.1:{port} (DAGs in dags/, state under .accfb/airflow)")
    run_local(load_settings(), port)
