"""Stream commands: the local endpoint, putting events on the stream, landing and refreshing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ingestion.cli.app import (
    app,
    console,
    follow,
    load_settings,
    local_stream_only,
    print_produce,
)

# Each command imports what it uses: `accfb --help` and a command that needs no AWS client or
# warehouse should not pay boto3's, pyarrow's and DuckDB's imports.


@app.command()
def up() -> None:
    """Start the local AWS endpoint and create the stream and bucket (idempotent)."""
    from ingestion.local import localaws

    settings = load_settings()
    created = localaws.ensure_up(settings)
    where = settings.aws_endpoint_url or "AWS"
    console.print(f"ready at {where}" + (f"; created {', '.join(created)}" if created else ""))


@app.command()
def down() -> None:
    """Stop the local AWS endpoint this project started (idempotent)."""
    from ingestion.local import localaws

    stopped = localaws.stop_endpoint(load_settings())
    console.print("stopped" if stopped else "nothing to stop")


@app.command()
def publish(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Publish a JSONL file to the stream, one record per line, exactly as written."""
    from ingestion.local import localaws
    from ingestion.produce import dead_letters
    from ingestion.produce.publish import file_records, publish_records

    settings = load_settings()
    localaws.ensure_up(settings)
    report = publish_records(
        settings,
        file_records(file),
        dead_letters=dead_letters.for_run(settings.state_dir, "publish"),
    )
    print_produce(report)
    if report.failed_count:
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
    from ingestion.config import aws
    from ingestion.demo.simulator import Simulator, steady
    from ingestion.local import localaws
    from ingestion.produce import dead_letters
    from ingestion.produce.producer import KinesisProducer
    from ingestion.produce.publish import publish_paced

    simulator = Simulator(seed=seed, start=datetime.now(UTC))
    records = simulator.generate(steady(profile, seconds))
    if out is not None:
        with out.open("wb") as sink:
            written = sum(sink.write(r.data + b"\n") > 0 for r in records)
        console.print(f"wrote {written:,} records to {out}")
        return
    settings = load_settings()
    localaws.ensure_up(settings)
    with KinesisProducer(
        aws.client("kinesis", settings),
        settings.stream_name,
        max_in_flight=settings.producer_in_flight,
        dead_letters=dead_letters.for_run(settings.state_dir, "simulate"),
    ) as producer:
        sent = publish_paced(producer, records)
        report = producer.flush()
    console.print(f"simulated {sent:,} records")
    print_produce(report)
    if report.failed_count:
        raise typer.Exit(1)


@app.command()
def ingest(
    once: Annotated[bool, typer.Option("--once", help="Drain what is there and stop")] = False,
) -> None:
    """Land the stream into the warehouse (the local stand-in for Redshift's streaming view)."""
    from ingestion.config import aws
    from ingestion.landing.lander import StreamLander
    from ingestion.local import localaws

    settings = load_settings()
    local_stream_only(settings, "ingest")
    localaws.ensure_up(settings)
    lander = StreamLander(settings, aws.client("kinesis", settings))
    if once:
        console.print(f"landed {lander.land_once():,} records")
        return
    follow(lander.run, f"landing {settings.stream_name} into {settings.warehouse_path}")
    console.print(f"landed {lander.stats.landed:,} records")


@app.command()
def refresh() -> None:
    """Land everything on the stream, build the streaming models once, publish and measure
    (local endpoint)."""
    from ingestion.local import localaws
    from ingestion.operations.refresh import run_minute

    settings = load_settings()
    local_stream_only(settings, "refresh")
    localaws.ensure_up(settings)
    report = run_minute(settings)
    console.print(f"landed {report.landed:,} records; built {report.built_nodes} dbt nodes")
    if report.published and settings.is_local:
        console.print(
            f"published the serving copy ({report.rows_published:,} rows written); "
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in report.seconds.items())
        )


@app.command()
def demo(
    minutes: Annotated[float, typer.Option(help="How long the sources send")] = 3.0,
    refresh_interval: Annotated[
        float | None, typer.Option(help="Seconds between builds (default: settings)")
    ] = None,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Run the whole pipeline locally with a traffic spike, then report and check the totals."""
    from ingestion.demo.run import run_demo

    settings = load_settings()
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
