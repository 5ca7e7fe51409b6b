"""Serving commands: `accfb sql`, `accfb dashboard` and `accfb docs`, what analysts and auditors
open (the work is in ``ingestion/serving``)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ingestion.cli import errors
from ingestion.cli.app import app, console
from ingestion.config import dbt
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings

APP = Path(__file__).resolve().parents[1] / "serving" / "dashboards" / "app.py"


def sql(
    query: Annotated[
        str | None, typer.Argument(help="SQL over schemas marts and ops; default: read stdin")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to print at most")] = 100,
) -> None:
    """Query the marts while the pipeline runs: the serving copy locally, Redshift otherwise."""
    from ingestion.serving import source

    text = query if query is not None else sys.stdin.read()
    try:
        frame = source.query(Settings.from_environment(), text)
    except source.NotPublished as missing:
        raise errors.CommandError(str(missing)) from None
    except Exception as refused:
        if not errors.is_database_error(refused):
            raise
        raise errors.QueryFailed(errors.psql_error(refused, text)) from refused
    table = Table(*map(str, frame.columns))
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
    shown = min(limit, len(frame))
    console.print(f"{len(frame):,} rows" + (f" ({shown:,} shown)" if shown < len(frame) else ""))


def streamlit_command(port: int) -> list[str]:
    """Streamlit on loopback only, headless, with usage statistics off."""
    return [
        str(Path(sys.executable).parent / "streamlit"),
        "run",
        str(APP),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        "--client.toolbarMode=viewer",
    ]


def dashboard(port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8501) -> None:
    """Serve the dashboards on 127.0.0.1 (fundraising, finance, disaster response, operations)."""
    console.print(f"dashboards at http://127.0.0.1:{port} (Ctrl-C stops)")
    command = streamlit_command(port)
    sys.stdout.flush()
    # Streamlit takes this process's place, so a signal to `accfb dashboard` reaches it.
    # S606: the command is this environment's own streamlit with fixed arguments.
    os.execve(command[0], command, {**os.environ, **TELEMETRY_OFF})  # noqa: S606


def docs(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8081,
    serve: Annotated[bool, typer.Option(help="Serve after building")] = True,
) -> None:
    """Build the dbt docs lineage site (`dbt docs generate`) and serve it on 127.0.0.1."""
    settings = Settings.from_environment()
    dbt.run_dbt(settings, ["docs", "generate"])
    console.print(f"built {settings.dbt_target_dir / 'index.html'}")
    if not serve:
        return
    console.print(f"lineage site at http://127.0.0.1:{port} (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        dbt.run_dbt(
            settings, ["docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser"]
        )


app.command("sql")(sql)
app.command("dashboard")(dashboard)
app.command("docs")(docs)
