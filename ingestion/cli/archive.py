"""Archive commands: the raw archive, replaying a window of it, and the batch exports."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestion.cli.app import app, console, follow, load_settings, window


@app.command()
def archive(
    once: Annotated[bool, typer.Option("--once", help="Archive what is there and stop")] = False,
) -> None:
    """Copy the stream into the raw bucket (the local stand-in for Firehose)."""
    from ingestion.archive.archiver import StreamArchiver
    from ingestion.config import aws
    from ingestion.local import localaws

    settings = load_settings()
    localaws.ensure_up(settings)
    archiver = StreamArchiver(settings, aws.client("kinesis", settings), aws.client("s3", settings))
    if once:
        console.print(f"archived {archiver.archive_once():,} records")
        return
    follow(archiver.run, f"archiving {settings.stream_name} into s3://{settings.raw_bucket}")
    console.print(f"archived {archiver.stats.archived:,} records")


@app.command()
def replay(
    start: Annotated[str, typer.Option(help="Window start: arrival time, ISO 8601 with a zone")],
    end: Annotated[str, typer.Option(help="Window end, exclusive")],
    source: Annotated[
        list[str] | None, typer.Option(help="Only these sources' partitions (repeatable)")
    ] = None,
) -> None:
    """Load a window of the raw archive into the backfill landing, then rebuild the models."""
    from ingestion.local import localaws
    from ingestion.replay.loads import replay as replay_window

    span = window(start, end)
    settings = load_settings()
    localaws.ensure_up(settings)
    report = replay_window(settings, span, source or ())
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
    from ingestion.batch.loads import load_batches
    from ingestion.local import localaws

    settings = load_settings()
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
