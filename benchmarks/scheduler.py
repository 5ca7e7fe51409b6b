"""Benchmark: the refresh DAG under Airflow's real scheduler, as `accfb airflow` runs it.

    .venv/bin/python benchmarks/scheduler.py                 # 10 minutes at 800 events/s
    .venv/bin/python benchmarks/scheduler.py --minutes 15 --rate 800

It starts its own local endpoint and `accfb airflow` on free loopback ports with their own
state dir, builds the models once (the first, full build), sends campaign traffic paced in
real time, unpauses `accfb_refresh` in campaign mode
(a run every minute), and when the traffic ends and the last run is done, stops Airflow and
prints per run: the scheduled minute, how late the run started, its duration by task, and the
minutes that got no run; then freshness P95 (emitted_at to fct_donations) of the gifts sent.
Everything comes from Airflow's own metadata database and the warehouse.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.demo.simulator import PROFILES, Phase, Simulator
from ingestion.local import localaws
from ingestion.local.airflow import airflow_environment
from ingestion.produce.producer import KinesisProducer
from ingestion.produce.publish import publish_paced

DAG_ID = "accfb_refresh"
BIN = Path(sys.executable).parent
# Task columns of the table, in run order; the transform group is shown as its dbt build
# (the watcher's producer) and the span of the whole group (its sensors report after it).
TASKS = ("cadence_gate", "land", "transform.dbt_producer_watcher")
AFTER = ("publish_freshness", "check_contracts", "publish_serving_copy")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Run:
    scheduled: datetime
    started: datetime | None
    ended: datetime | None
    state: str
    tasks: dict[str, tuple[datetime, datetime]]

    def seconds(self, task_id: str) -> float | None:
        span = self.tasks.get(task_id)
        return (span[1] - span[0]).total_seconds() if span else None

    def transform_span(self) -> float | None:
        spans = [v for k, v in self.tasks.items() if k.startswith("transform.")]
        if not spans:
            return None
        return (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()


def _read_runs(database: Path) -> list[Run]:
    with sqlite3.connect(database) as con:
        runs = {
            run_id: Run(
                _when(after) or datetime.min.replace(tzinfo=UTC),
                _when(start),
                _when(end),
                state,
                {},
            )
            for run_id, after, start, end, state in con.execute(
                "select run_id, run_after, start_date, end_date, state from dag_run "
                "where dag_id = ? and run_type = 'scheduled' order by run_after",
                [DAG_ID],
            )
        }
        for run_id, task_id, start, end in con.execute(
            "select run_id, task_id, start_date, end_date from task_instance "
            "where dag_id = ? and start_date is not null and end_date is not null",
            [DAG_ID],
        ):
            if run_id in runs:
                runs[run_id].tasks[task_id] = (_when(start), _when(end))  # type: ignore[assignment]
    return sorted(runs.values(), key=lambda r: r.scheduled)


def _wait_for(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, sqlite3.Error, urllib.error.URLError):
            pass
        time.sleep(2)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def _served(url: str) -> bool:
    # S310: the URL is the local Airflow's, on 127.0.0.1.
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
        return bool(response.status == 200)


def _dag_registered(database: Path) -> bool:
    with sqlite3.connect(database) as con:
        return con.execute("select 1 from dag where dag_id = ?", [DAG_ID]).fetchone() is not None


def _done_until(database: Path, cutoff: datetime) -> bool:
    """No run scheduled before the cutoff is still queued or running."""
    return all(
        run.state not in {"queued", "running"}
        for run in _read_runs(database)
        if run.scheduled <= cutoff
    )


def _traffic(settings: Settings, rate: int, seconds: float, start: datetime) -> threading.Thread:
    profile = replace(PROFILES["campaign"], events_per_second=rate)
    records = Simulator(seed=16, start=start).generate([Phase(profile, seconds)])
    producer = KinesisProducer(
        aws.client("kinesis", settings), settings.stream_name, max_in_flight=1
    )

    def send() -> None:
        try:
            publish_paced(producer, records)
        finally:
            producer.close()

    thread = threading.Thread(target=send, name="traffic", daemon=True)
    thread.start()
    return thread


def _freshness_p95(warehouse: Path, since: datetime) -> tuple[int, float | None]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            """
            select count(*), quantile_cont(epoch(first_loaded_at - emitted_at), 0.95)
            from marts.fct_donations where emitted_at >= ?
            """,
            [since.replace(tzinfo=None)],
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(runs: list[Run], rate: int, minutes: float) -> Table:
    table = Table(title=f"{DAG_ID} under the scheduler, campaign mode, {rate:,} events/s")
    for column in (
        "scheduled",
        "start delay s",
        "state",
        "run s",
        "gate s",
        "land s",
        "dbt build s",
        "transform s",
        "freshness s",
        "contracts s",
        "serving s",
    ):
        table.add_column(column, justify="right")
    for run in runs:
        delay = (run.started - run.scheduled).total_seconds() if run.started else None
        total = (run.ended - run.started).total_seconds() if run.started and run.ended else None
        table.add_row(
            f"{run.scheduled:%H:%M}",
            _cell(delay),
            run.state,
            _cell(total),
            *(_cell(run.seconds(t)) for t in TASKS[:2]),
            _cell(run.seconds(TASKS[2])),
            _cell(run.transform_span()),
            *(_cell(run.seconds(t)) for t in AFTER),
        )
    return table


def _skipped(runs: list[Run], until: datetime) -> list[datetime]:
    """Minutes from the first run to ``until`` that got no run (catchup=False skips them)."""
    if not runs:
        return []
    have = {r.scheduled.replace(second=0, microsecond=0) for r in runs}
    minute = min(have)
    missing = []
    while minute <= until:
        if minute not in have:
            missing.append(minute)
        minute += timedelta(minutes=1)
    return missing


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long traffic flows")
    parser.add_argument("--rate", type=int, default=800, help="events per second")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="accfb-scheduler-bench-"))
    settings = Settings(
        aws_endpoint_url=f"http://127.0.0.1:{_free_port()}",
        state_dir=home / "state",
        warehouse_path=home / "warehouse.duckdb",
        stream_name="bench-scheduler",
        raw_bucket="bench-scheduler",
    )
    port = _free_port()
    env = {
        **os.environ,
        **airflow_environment(settings, port),
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        # The refresh DAG's cadence gate reads the operating mode from this Variable.
        "AIRFLOW_VAR_ACCFB_OPERATING_MODE": "campaign",
    }
    database = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    console = Console(width=160)
    console.print(f"state under {home}; Airflow at http://127.0.0.1:{port}")
    # `kill` (SIGTERM) stops Airflow and the endpoint too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    localaws.start_endpoint(settings)
    log = (home / "airflow.log").open("wb")
    airflow = subprocess.Popen(
        [str(BIN / "accfb"), "airflow", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        localaws.provision(settings)
        _wait_for("the API server", lambda: _served(f"http://127.0.0.1:{port}/api/v2/version"), 300)
        _wait_for("the DAG to be parsed", lambda: _dag_registered(database), 300)
        # The first build over an empty warehouse is not a minute's refresh: do it before the
        # clock starts, as `refresh_dag.py` does, so the table shows the steady state.
        subprocess.run([str(BIN / "accfb"), "refresh"], env=env, check=True, capture_output=True)
        start = datetime.now(UTC)
        traffic = _traffic(settings, args.rate, args.minutes * 60, start)
        subprocess.run(
            [str(BIN / "airflow"), "dags", "unpause", DAG_ID],
            env=env,
            check=True,
            capture_output=True,
        )
        console.print(f"{start:%H:%M:%S} traffic and {DAG_ID} started; {args.minutes} minutes")
        traffic.join()
        sent_until = datetime.now(UTC)
        # The runs scheduled up to a minute and a half after the traffic land what is left of
        # it; the table covers those, and Airflow stops once they are done. (Pausing the DAG
        # would not do: a paused DAG's running runs get no more tasks scheduled.)
        cutoff = sent_until + timedelta(seconds=90)
        time.sleep(90)
        _wait_for("the last runs to finish", lambda: _done_until(database, cutoff), 900)
    finally:
        os.killpg(airflow.pid, signal.SIGTERM)
        airflow.wait(timeout=120)
        localaws.stop_endpoint(settings)

    runs = [
        r for r in _read_runs(database) if start - timedelta(minutes=1) <= r.scheduled <= cutoff
    ]
    console.print(_table(runs, args.rate, args.minutes))
    skipped = _skipped(runs, cutoff)
    console.print(
        f"runs: {len(runs)}; skipped minutes: {len(skipped)}"
        + (f" ({', '.join(f'{m:%H:%M}' for m in skipped)})" if skipped else "")
    )
    gifts, p95 = _freshness_p95(settings.warehouse_path, start)
    console.print(
        f"traffic {start:%H:%M:%S}-{sent_until:%H:%M:%S}; gifts in fct_donations: {gifts:,}; "
        f"freshness P95 (emitted_at to fct_donations): {_cell(p95)} s"
    )


if __name__ == "__main__":
    main()
