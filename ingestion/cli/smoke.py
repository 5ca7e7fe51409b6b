"""`accfb smoke`: the step after `cdk deploy` (ingestion/operations/smoke.py)."""

from __future__ import annotations

import sys

import typer

from ingestion.cli.app import app, console, load_settings


@app.command()
def smoke() -> None:
    """On the deployed workgroup: a small corpus on the real stream, the streaming view
    refreshed, the minute built into scratch schemas (never marts), reconciled and checked
    against the contracts there, one table of what passed, the scratch schemas dropped.
    Exits 1 on any failed step, 2 when it refuses to start (local settings, no AWS
    credentials)."""
    from rich.table import Table

    from ingestion.operations.smoke import SmokeRefused, run_smoke

    try:
        report = run_smoke(load_settings())
    except SmokeRefused as refused:
        print(f"accfb smoke: {refused}", file=sys.stderr)
        raise typer.Exit(2) from None
    table = Table(title=f"accfb smoke ({report.scratch})")
    for column in ("step", "", "detail"):
        table.add_column(column)
    for step in report.steps:
        status = "[green]passed[/green]" if step.passed else "[red]FAILED[/red]"
        table.add_row(step.name, status, step.detail)
    console.print(table)
    if not report.passed:
        raise typer.Exit(1)
