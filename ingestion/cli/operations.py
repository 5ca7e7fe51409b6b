"""Operations commands: reconcile, trace, checks, cost, the contract's SQL and local Airflow."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ingestion.cli import errors
from ingestion.cli.app import app, console, load_settings, window
from ingestion.config.settings import Settings
from ingestion.operations.cost.command import cost

if TYPE_CHECKING:
    from ingestion.operations.audit import Check

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

    from ingestion.local import localaws
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
def trace(
    donation_id: Annotated[str | None, typer.Argument(help="A gift's donation_id")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="A campaign's figure: its net on --day")
    ] = None,
    day: Annotated[str | None, typer.Option(help="The UTC day of --campaign's figure")] = None,
    closed_day: Annotated[
        str | None, typer.Option(help="A closed day's figure: its net in rpt_closed_days")
    ] = None,
) -> None:
    """Every raw record behind a gift (archive key, stream position, verdict) and its mart rows;
    or every gift, refund and raw record behind a figure (--campaign C --day D, or
    --closed-day D), with their sum beside the figure. Exit 1 when nothing is found or the sum
    differs from the figure."""
    if campaign or closed_day:
        _figures_read_the_local_warehouse(load_settings())
        _trace_figure(campaign, day, closed_day)
        return
    if donation_id is None:
        raise typer.BadParameter("give a DONATION_ID, --campaign C --day D, or --closed-day D")
    from ingestion.local import localaws
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


def _figures_read_the_local_warehouse(settings: Settings) -> None:
    """Say so rather than open an empty local file: the figures' SQL is DuckDB's alone so far."""
    if settings.dbt_target == "local":
        return
    raise errors.Unavailable(
        "accfb trace --campaign/--closed-day reads the local DuckDB warehouse and has no "
        f"Redshift form yet; the target is {settings.dbt_target!r}",
        hint="on Redshift, `accfb trace DONATION_ID` per gift, `accfb sql` over "
        "marts.fct_donation_ledger (docs/runbooks.md), and `accfb reconcile` for a window",
    )


def _trace_figure(campaign: str | None, day: str | None, closed_day: str | None) -> None:
    from ingestion.local import localaws
    from ingestion.operations.trace import trace_campaign_day, trace_closed_day

    settings = load_settings()
    localaws.ensure_up(settings)
    if campaign:
        if not day:
            raise typer.BadParameter("--campaign needs --day")
        found = trace_campaign_day(settings, campaign, _day(day))
    else:
        found = trace_closed_day(settings, _day(closed_day or ""))
    for item in found.items:
        console.print(
            f"- {item.kind} {item.donation_id}{f' / {item.refund_id}' if item.refund_id else ''}"
            f" {item.amount_cents / 100:+,.2f} $, event {item.event_id}\n"
            f"  stream {item.shard_id}/{item.sequence_number}, arrived "
            f"{item.arrived_at.isoformat() if item.arrived_at else '?'}\n"
            f"  archive {item.archive_key or '[red]not archived[/red]'}",
            soft_wrap=True,
        )
    figure = "none" if found.figure_cents is None else f"{found.figure_cents / 100:,.2f} $"
    console.print(
        f"[bold]{found.figure}[/bold]: {figure}; {len(found.items)} gift(s) and refund(s) "
        f"summing to {found.total_cents / 100:,.2f} $ "
        + ("[green]equal[/green]" if found.adds_up else "[red]NOT EQUAL[/red]")
    )
    if not found.items or not found.adds_up:
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


@app.command("rehash-pii")
def rehash_pii() -> None:
    """Rebuild every model that stores a keyed PII hash with the current key: the last step of
    rotating the key (docs/runbooks.md, "Rotating the PII hash key")."""
    from ingestion.config import dbt
    from ingestion.pii.keyed_hash import HASHED_MODELS

    settings = load_settings()
    # Past the check that refuses a key the stored hashes were not made with (this run is what
    # makes them so); the key's fingerprint is recorded only once every hash is rebuilt.
    result = dbt.run_dbt(
        settings,
        [
            "build",
            "--full-refresh",
            "--select",
            HASHED_MODELS,
            "--vars",
            json.dumps({"pii_key_rotation": True}),
        ],
    )
    dbt.run_dbt(settings, ["run-operation", "record_pii_key_fingerprint"])
    console.print(f"rebuilt {result.nodes} dbt nodes ({HASHED_MODELS}) with the current key")


@app.command()
def airflow(port: Annotated[int, typer.Option(help="API server and UI port")] = 8080) -> None:
    """Run Airflow 3 on 127.0.0.1 with the DAGs wired to the local default (Ctrl-C stops)."""
    from ingestion.local.airflow import run_local

    settings = load_settings()
    console.print(
        f"Airflow at http://127.0.0.1:{port} "
        f"(DAGs in dags/, state under {settings.state_dir / 'airflow'})"
    )
    run_local(settings, port)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a day (YYYY-MM-DD)") from None


@app.command("close")
def close_command(
    day: Annotated[
        str | None, typer.Option("--date", help="The UTC day to close (YYYY-MM-DD)")
    ] = None,
) -> None:
    """Close a day: freeze its rpt_daily_close figures, and record (and alert) every closed day
    that moved since as a dated adjustment. Without --date, only the adjustments."""
    from rich.table import Table

    from ingestion.operations.close import CloseRefused, close, revisions

    settings = load_settings()
    closing = _day(day) if day else None
    try:
        adjustments = close(settings, closing)
    except CloseRefused as refused:
        console.print(f"[red]{refused}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"rpt_closed_days{f' {closing}' if closing else ''}")
    for column in ("day", "revision", "kind", "gifts", "refunds", "net $", "settled $", "causes"):
        table.add_column(column, justify="left" if column in {"day", "kind"} else "right")
    for r in revisions(settings, closing):
        table.add_row(
            str(r.close_date),
            str(r.revision),
            r.entry_kind,
            f"{r.gift_count:,}",
            f"{r.refund_count:,}",
            f"{r.net_amount_cents / 100:,.2f}",
            f"{r.settled_net_cents / 100:,.2f}",
            f"{r.cause_count:,}",
        )
    console.print(table)
    console.print(f"{len(adjustments)} adjustment(s) recorded and alerted")


audit_app = typer.Typer(help="The 7-year audit record of closed days (the audit bucket).")
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
def audit_export(
    day: Annotated[str, typer.Option("--date", help="A closed UTC day (YYYY-MM-DD)")],
    revision: Annotated[
        int | None, typer.Option(help="The close revision to export (default: the newest)")
    ] = None,
) -> None:
    """Write a closed day's ledger, reconciliation and close revisions 0..R to the audit bucket,
    once; refused, naming the difference, when the live day no longer adds up to revision R."""
    from ingestion.local import localaws
    from ingestion.operations.audit import AuditRefused, export

    settings = load_settings()
    localaws.ensure_up(settings)
    try:
        report = export(settings, _day(day), revision)
    except AuditRefused as refused:
        console.print(f"[red]{refused}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    where = f"s3://{settings.audit_bucket}/{report.prefix}/"
    console.print(
        f"{'exported to' if report.written else 'already exported, nothing written:'} {where}"
    )
    for name, facts in report.manifest["files"].items():
        console.print(f"  {name}: {facts['totals']}", soft_wrap=True)


@audit_app.command("verify")
def audit_verify(
    day: Annotated[str, typer.Option("--date", help="A closed, exported UTC day (YYYY-MM-DD)")],
    revision: Annotated[
        int | None, typer.Option(help="The exported revision (default: the newest exported)")
    ] = None,
    warehouse: Annotated[
        bool, typer.Option(help="Also report whether the warehouse still agrees")
    ] = True,
) -> None:
    """Check an exported revision from the bucket alone (checksums, totals, and the files'
    figures against the revisions they carry): exit 1 on any difference. Then report whether
    the warehouse still agrees: exit 2 when only that differs."""
    from ingestion.local import localaws
    from ingestion.operations.audit import AuditRefused, verify

    settings = load_settings()
    localaws.ensure_up(settings)
    try:
        found = verify(settings, _day(day), revision, warehouse=warehouse)
    except AuditRefused as refused:
        console.print(f"[red]{refused}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    _print_differences(found.package)
    failed = [c for c in found.package if not c.ok]
    console.print(
        f"package {found.prefix}/: {len(found.package)} checks, "
        + ("intact" if not failed else f"[red]{len(failed)} differ[/red]"),
        soft_wrap=True,
    )
    if found.warehouse is not None:
        _print_differences(found.warehouse)
        moved = [c for c in found.warehouse if not c.ok]
        console.print(
            f"warehouse: {len(found.warehouse)} checks, "
            + ("agrees" if not moved else f"[yellow]{len(moved)} differ[/yellow]"),
            soft_wrap=True,
        )
        for later in found.later:
            console.print(
                f"  recorded since: revision {later.revision} ({later.entry_kind}) net "
                f"{later.net_amount_cents:+d} cents, settled {later.settled_net_cents:+d}",
                soft_wrap=True,
            )
    if failed:
        raise typer.Exit(1)
    if not found.warehouse_agrees:
        raise typer.Exit(2)


def _print_differences(checks: list[Check]) -> None:
    for c in checks:
        if not c.ok:
            console.print(
                f"[red]DIFFERS[/red] {c.check}: expected {c.expected}, found {c.found}",
                soft_wrap=True,
            )
