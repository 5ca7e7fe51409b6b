"""Benchmark: wall time of one refresh DAG run (`dag.test()`) after a minute of traffic.

    .venv/bin/python benchmarks/refresh_dag.py --rate 800     # a normal minute
    .venv/bin/python benchmarks/refresh_dag.py --rate 8000    # a peak minute

It starts its own local endpoint on a free loopback port with its own state dir, publishes one
minute of 2 KB events, runs the refresh DAG once (the first build, over empty marts), publishes
a second minute and times the second run: the steady state, an incremental build over a minute
of new records. The run is one task (`refresh`); its duration comes from the task instance. At
peak a minute of events takes the local endpoint about a minute to accept, so the whole script
runs a few minutes.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingestion.config import dbt
from ingestion.config.settings import REPO_ROOT, Settings
from ingestion.contract import partition_key
from ingestion.demo.pipeline import pad_record
from ingestion.demo.simulator import PROFILES, Phase, Simulator
from ingestion.local import localaws
from ingestion.produce.publish import publish_records


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _airflow_env(home: Path, settings: Settings) -> None:
    """Airflow reads its configuration on import: set it (and the DAGs' settings) first."""
    os.environ.update(
        {
            **dbt.TELEMETRY_OFF,
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": str(home / "airflow" / "cosmos"),
            "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
            "ACCFB_STATE_DIR": str(settings.state_dir),
            "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
            "ACCFB_STREAM_NAME": settings.stream_name,
        }
    )


def _publish_minute(settings: Settings, rate: int, seed: int, event_bytes: int) -> int:
    profile = replace(PROFILES["emergency" if rate >= 3000 else "normal"], events_per_second=rate)
    start = datetime.now(UTC) - timedelta(seconds=60)
    records = (
        pad_record(r, event_bytes)
        for r in Simulator(seed=seed, start=start).generate([Phase(profile, 60)])
    )
    report = publish_records(settings, ((r.data, partition_key(r.data)) for r in records))
    return report.accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=800, help="events per second for the minute")
    parser.add_argument("--event-bytes", type=int, default=2048)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="accfb-refresh-bench-"))
    settings = Settings(
        aws_endpoint_url=f"http://127.0.0.1:{_free_port()}",
        state_dir=home / "state",
        warehouse_path=home / "warehouse.duckdb",
        stream_name="bench-refresh",
    )
    _airflow_env(home, settings)
    console = Console(width=140)
    localaws.start_endpoint(settings)
    try:
        localaws.provision(settings)
        dbt.run_dbt(settings, ["parse"])
        import subprocess

        subprocess.run(
            [Path(sys.executable).parent / "airflow", "db", "migrate"],
            check=True,
            capture_output=True,
        )
        sys.path.insert(0, str(REPO_ROOT / "dags"))
        from airflow.models.dagbag import DagBag

        rows = []
        for label, seed in (("first minute (full build)", 1), ("second minute (incremental)", 2)):
            accepted = _publish_minute(settings, args.rate, seed, args.event_bytes)
            dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).dags["accfb_refresh"]
            began = time.perf_counter()
            run = dag.test()
            wall = time.perf_counter() - began
            tasks = {
                ti.task_id: (ti.end_date - ti.start_date).total_seconds()
                for ti in run.get_task_instances()
                if ti.start_date and ti.end_date
            }
            rows.append((label, accepted, run.state, wall, tasks))
    finally:
        localaws.stop_endpoint(settings)

    table = Table(
        title=f"refresh DAG, {args.rate:,} events/s for a minute of {args.event_bytes} B events"
    )
    for column in ("run", "events", "state", "wall s", "tasks", "refresh task s"):
        table.add_column(column)
    for label, accepted, state, wall, tasks in rows:
        table.add_row(
            label,
            f"{accepted:,}",
            str(state),
            f"{wall:.1f}",
            str(len(tasks)),
            f"{tasks.get('refresh', 0):.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
