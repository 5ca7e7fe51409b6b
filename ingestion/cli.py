"""`accfb`: the pipeline's command line. Each command is a thin shell over a module."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ingestion import aws, dbt, localaws
from ingestion.cost.command import cost
from ingestion.landing import StreamLander
from ingestion.producer import ProduceReport
from ingestion.replay import Window
from ingestion.serving import commands as serving_commands
from ingestion.serving import copy as serving
from ingestion.settings import Settings

app = typer.Typer(
    help="Alameda County Community Food Bank data pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold donor records
)
console = Console()


def _settings() -> Settings:
    return Settings()


def _print_produce(report: ProduceReport) -> None:
    console.print(f"accepted by Kinesis: {report.accepted:,}  re-sent: {report.retried:,}")
    for failure in report.failed[:10]:
        console.print(f"[red]not accepted[/red] {failure.error_code}: {failure.error_message}")
    if report.failed:
        console.print(f"[red]{len(report.failed):,} records were not accepted[/red]")


@app.command()
def up() -> None:
    """Start the local AWS endpoint and create the stream and bucket (idempotent)."""
    settings = _settings()
    created = localaws.ensure_up(settings)
    where = settings.aws_endpoint_url or "AWS"
    console.print(f"ready at {where}" + (f"; created {', '.join(created)}" if created else ""))


@app.command()
def down() -> None:
    """Stop the local AWS endpoint this project started (idempotent)."""
    stopped = localaws.stop_endpoint(_settings())
    console.print("stopped" if stopped else "nothing to stop")


@app.command()
def publish(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Publish a JSONL file to the stream, one record per line, exactly as written."""
    from ingestion.publish import file_records, publish_records

    settings = _settings()
    localaws.ensure_up(settings)
    report = publish_records(settings, file_records(file))
    _print_produce(report)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def simulate(
    profile: Annotated[str, typer.Option(help="normal, campaign or emergency")] = "normal",
    seconds: Annotated[float, typer.Option(help="Simulated duration")] = 60.0,
    seed: Annotated[int, typer.Option()] = 7,
    out: Annotated[
        Path | None, typer.Option(help="Write JSONL here instead of publishing in real time")
    ] = None,
) -> None:
    """Generate realistic food-bank events (with faults) onto the stream or into a file."""
    from ingestion.producer import KinesisProducer
    from ingestion.publish import publish_paced
    from ingestion.simulator import Simulator, steady

    simulator = Simulator(seed=seed, start=datetime.now(UTC))
    records = simulator.generate(steady(profile, seconds))
    if out is not None:
        with out.open("wb") as sink:
            written = sum(sink.write(r.data + b"\n") > 0 for r in records)
        console.print(f"wrote {written:,} records to {out}")
        return
    settings = _settings()
    localaws.ensure_up(settings)
    with KinesisProducer(
        aws.client("kinesis", settings),
        settings.stream_name,
        max_in_flight=settings.producer_in_flight,
    ) as producer:
        sent = publish_paced(producer, records)
        report = producer.flush()
    console.print(f"simulated {sent:,} records")
    _print_produce(report)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def ingest(
    once: Annotated[bool, typer.Option("--once", help="Drain what is there and stop")] = False,
) -> None:
    """Land the stream into the warehouse (the local stand-in for Redshift's streaming view)."""
    settings = _settings()
    localaws.ensure_up(settings)
    lander = StreamLander(settings, aws.client("kinesis", settings))
    if once:
        console.print(f"landed {lander.land_once():,} records")
        return
    stop = threading.Event()
    console.print(f"landing {settings.stream_name} into {settings.warehouse_path}; Ctrl-C stops")
    try:
        lander.run(stop)
    except KeyboardInterrupt:
        stop.set()
    console.print(f"landed {lander.stats.landed:,} records")


@app.command()
def refresh() -> None:
    """Land everything on the stream, then build the streaming models once."""
    settings = _settings()
    localaws.ensure_up(settings)
    landed = StreamLander(settings, aws.client("kinesis", settings)).land_once()
    result = dbt.build_streaming_models(settings)
    published = serving.publish(settings)
    console.print(f"landed {landed:,} records; built {result.nodes} dbt nodes")
    console.print(f"published the serving copy {published.path}")


@app.command("contract-sql")
def contract_sql(
    check: Annotated[bool, typer.Option("--check", help="Fail if the macro is stale")] = False,
) -> None:
    """Regenerate the dbt macro of contract checks from the JSON Schemas."""
    from ingestion.contract import load_schemas
    from ingestion.contract_sql import MACRO_PATH, render_macro, write_macro

    schemas = load_schemas()
    if check:
        current = MACRO_PATH.read_text() if MACRO_PATH.exists() else ""
        if current != render_macro(schemas):
            console.print(f"[red]{MACRO_PATH} is stale: run `accfb contract-sql`[/red]")
            raise typer.Exit(1)
        return
    console.print("rewritten" if write_macro(schemas) else "up to date")


@app.command()
def demo(
    minutes: Annotated[float, typer.Option(help="How long the sources send")] = 3.0,
    refresh_interval: Annotated[
        float | None, typer.Option(help="Seconds between builds (default: settings)")
    ] = None,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Run the whole pipeline locally with a traffic spike, then report and check the totals."""
    from ingestion.demo import run_demo

    settings = _settings()
    if settings.aws_endpoint_url is None:
        console.print(
            "[red]the demo runs on the local endpoint: set ACCFB_AWS_ENDPOINT_URL "
            "(e.g. http://127.0.0.1:4566; `make demo` does)[/red]"
        )
        raise typer.Exit(2)
    ok = run_demo(
        settings,
        console=console,
        seconds=minutes * 60,
        refresh_interval=refresh_interval or settings.refresh_interval_seconds,
        seed=seed,
    )
    if not ok:
        raise typer.Exit(1)


app.command("cost")(cost)
app.command("sql")(serving_commands.sql)
app.command("dashboard")(serving_commands.dashboard)
app.command("docs")(serving_commands.docs)


def _window(start: str, end: str) -> Window:
    """Parse --start/--end (ISO 8601; a time without an offset is taken as UTC)."""
    bounds = []
    for value in (start, end):
        moment = datetime.fromisoformat(value)
        bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return Window(bounds[0], bounds[1])


@app.command()
def archive(
    once: Annotated[bool, typer.Option("--once", help="Archive what is there and stop")] = False,
) -> None:
    """Copy the stream into the raw bucket (the local stand-in for Firehose)."""
    from ingestion.archive import StreamArchiver

    settings = _settings()
    localaws.ensure_up(settings)
    archiver = StreamArchiver(settings, aws.client("kinesis", settings), aws.client("s3", settings))
    if once:
        console.print(f"archived {archiver.archive_once():,} records")
        return
    stop = threading.Event()
    console.print(f"archiving {settings.stream_name} into s3://{settings.raw_bucket}; Ctrl-C stops")
    try:
        archiver.run(stop)
    except KeyboardInterrupt:
        stop.set()
    console.print(f"archived {archiver.stats.archived:,} records")


@app.command()
def replay(
    start: Annotated[str, typer.Option(help="Window start (arrival time, ISO 8601, UTC default)")],
    end: Annotated[str, typer.Option(help="Window end, exclusive")],
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources' partitions (repeatable)")
    ] = None,
) -> None:
    """Load a window of the raw archive into the backfill landing, then rebuild the models."""
    from ingestion.replay import replay as replay_window

    settings = _settings()
    localaws.ensure_up(settings)
    report = replay_window(settings, _window(start, end), source or ())
    loaded = "" if report.loaded is None else f"; {report.loaded:,} new records"
    console.print(
        f"{report.objects:,} archive objects ({report.manifest_url}){loaded}; "
        f"built {report.dbt_nodes} dbt nodes"
    )


@app.command("load-batch")
def load_batch(
    source: Annotated[
        list[str] | None, typer.Option(help="crm, settlements (repeatable; default: all)")
    ] = None,
) -> None:
    """Load new CRM and settlement CSV exports from the bucket's landing prefixes."""
    from ingestion.batch_loads import load_batches

    settings = _settings()
    localaws.ensure_up(settings)
    refused = 0
    for report in load_batches(settings, source or ()):
        loaded = report.files - report.skipped - len(report.refused)
        console.print(
            f"{report.source}: {loaded:,} files loaded, {report.skipped:,} already in, "
            f"{len(report.refused):,} refused"
        )
        for key, reason in report.refused.items():
            console.print(f"  [red]refused[/red] {key}: {reason}")
        refused += len(report.refused)
    if refused:
        raise typer.Exit(code=1)


@app.command()
def reconcile(
    start: Annotated[str, typer.Option(help="Window start (arrival time, ISO 8601, UTC default)")],
    end: Annotated[str, typer.Option(help="Window end, exclusive")],
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources' records (repeatable)")
    ] = None,
) -> None:
    """Compare archive, landings and fct_donations for a window; exit 1 on any difference."""
    from rich.table import Table

    from ingestion.reconcile import reconcile as reconcile_window

    settings = _settings()
    localaws.ensure_up(settings)
    rows = reconcile_window(settings, _window(start, end), source or ())
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
    from ingestion.trace import trace as trace_gift

    settings = _settings()
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
    for table_name, rows in found.curated.items():
        console.print(f"[bold]{table_name}[/bold]: {len(rows)} row(s)")
        for row in rows:
            console.print(row)
    if not found.records:
        raise typer.Exit(1)


@app.command()
def check() -> None:
    """Verify every public mart's Soda contract against the warehouse."""
    from ingestion.checks import ChecksUnavailable, run_checks

    try:
        report = run_checks(_settings())
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


@app.command()
def airflow(port: Annotated[int, typer.Option(help="API server and UI port")] = 8080) -> None:
    """Run Airflow 3 on 127.0.0.1 with the DAGs wired to the local default (Ctrl-C stops)."""
    from ingestion.airflow_local import run_local

    console.print(f"Airflow at http://127.0.0.1:{port} (DAGs in dags/, state under .accfb/airflow)")
    run_local(_settings(), port)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
