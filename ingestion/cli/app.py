"""The `accfb` Typer app, its console and what every command group shares."""

from __future__ import annotations

import threading
from collections.abc import Callable

import typer
from rich.console import Console

from ingestion.cli import errors
from ingestion.config.settings import Settings
from ingestion.produce.producer import ProduceReport
from ingestion.replay.window import Window, WindowRefused, parse_window

app = typer.Typer(
    help="Alameda County Community Food Bank data pipeline.",
    no_args_is_help=True,
    add_completion=False,
    # Errors are one or two lines (ingestion/cli/errors.py); the trace is behind
    # ACCFB_LOG_LEVEL=DEBUG, never a screen of locals that can hold donor records.
    pretty_exceptions_enable=False,
)
console = Console()


def load_settings() -> Settings:
    return Settings.from_environment()


def local_stream_only(settings: Settings, command: str) -> None:
    """Refuse to copy a stream in AWS into DuckDB on this machine.

    Without a local endpoint the stream is the deployment's: up to 7 days of donors' names,
    emails and postcodes, which would land unencrypted in a file on a laptop. In AWS the stream
    lands in Redshift's streaming view, refreshed every minute by the accfb_refresh DAG.
    """
    if settings.is_local:
        return
    raise errors.CommandError(
        f"accfb {command} lands the stream into DuckDB on this machine, and ACCFB_AWS_ENDPOINT_URL "
        f"is unset: {settings.stream_name} is AWS's stream, with donors' personal data. Refused.",
        hint="in AWS the accfb_refresh DAG lands and builds every minute "
        "(`dbt run-operation refresh_stream_landing` refreshes the streaming view by hand)",
        code=errors.USAGE,
    )


def window(start: str, end: str) -> Window:
    """--start/--end as a window (the one parser and its rules), or a usage error."""
    try:
        return parse_window(start, end)
    except WindowRefused as refused:
        raise typer.BadParameter(str(refused)) from None


def follow(run: Callable[[threading.Event], None], doing: str) -> None:
    """Run a follower (the lander, the archiver) until Ctrl-C, which stops it cleanly."""
    stop = threading.Event()
    console.print(f"{doing}; Ctrl-C stops")
    try:
        run(stop)
    except KeyboardInterrupt:
        stop.set()


def print_produce(report: ProduceReport) -> None:
    console.print(f"accepted by Kinesis: {report.accepted:,}  re-sent: {report.retried:,}")
    for failure in report.failed[:10]:
        console.print(f"[red]not accepted[/red] {failure.error_code}: {failure.error_message}")
    if report.failed_count:
        console.print(f"[red]{report.failed_count:,} records were not accepted[/red]")
    if report.failed_count and report.dead_letters is not None:
        console.print(f"every one of them is in {report.dead_letters}, to re-send")
