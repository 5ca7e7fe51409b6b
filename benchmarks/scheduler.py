"""Benchmark: the refresh DAG under Airflow's real scheduler, as `accfb airflow` runs it.

    .venv/bin/python benchmarks/scheduler.py                    # 10 minutes at 800 events/s
    .venv/bin/python benchmarks/scheduler.py --spike            # the same, 8,000/s in minute 5
    .venv/bin/python benchmarks/scheduler.py --minutes 3 --schedule "* * * * *"   # cron instead

It starts its own local endpoint and `accfb airflow` on free loopback ports with their own
state dir, builds the models once (the first, full build), sends campaign traffic paced in
real time (with ``--spike``, one minute in the middle at ``--spike-rate``), unpauses
`accfb_refresh` (its schedule from ``--schedule``: the DAG's own, continuous, by default), and
when the traffic ends and the runs after it are done, stops Airflow and prints, per wall-clock
minute: the runs that started, their median duration by step (the task's own timings, from its
return value), and the P95 source-to-dashboard seconds of the gifts emitted in that minute
(emitted_at to the publish that made each visible, ``ops.pipeline_freshness.published_at``);
then the minutes without a run and the P95 over the whole run. Everything comes from Airflow's
own metadata database and the warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
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
# The refresh task's steps (ingestion/operations/refresh.py), in run order.
STEPS = ("land", "build", "publish", "checks and metrics")


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
    tasks: int
    steps: dict[str, float]

    @property
    def seconds(self) -> float | None:
        return (self.ended - self.started).total_seconds() if self.started and self.ended else None


def _read_runs(database: Path) -> list[Run]:
    with sqlite3.connect(database) as con:
        runs = {
            run_id: Run(
                _when(after) or datetime.min.replace(tzinfo=UTC),
                _when(start),
                _when(end),
                state,
                0,
                {},
            )
            for run_id, after, start, end, state in con.execute(
                "select run_id, run_after, start_date, end_date, state from dag_run "
                "where dag_id = ? and run_type = 'scheduled' order by run_after",
                [DAG_ID],
            )
        }
        for run_id, count in con.execute(
            "select run_id, count(*) from task_instance where dag_id = ? group by run_id",
            [DAG_ID],
        ):
            if run_id in runs:
                runs[run_id].tasks = int(count)
        for run_id, value in con.execute(
            "select run_id, value from xcom where dag_id = ? and key = 'return_value'", [DAG_ID]
        ):
            if run_id in runs:
                returned = json.loads(value) if isinstance(value, (str, bytes)) else value
                if isinstance(returned, str):
                    returned = json.loads(returned)
                runs[run_id].steps = dict(returned.get("seconds", {}))
    return sorted(runs.values(), key=lambda r: r.started or r.scheduled)


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
    """No run that started before the cutoff is still running."""
    return all(
        run.state not in {"queued", "running"}
        for run in _read_runs(database)
        if run.started and run.started <= cutoff
    )


def _phases(rate: int, seconds: float, spike_rate: int | None) -> list[Phase]:
    """Campaign traffic at ``rate``; with a spike, its one minute in the middle at
    ``spike_rate``."""
    steady = replace(PROFILES["campaign"], events_per_second=rate)
    if spike_rate is None:
        return [Phase(steady, seconds)]
    before = max(0.0, (seconds - 60) / 2)
    spike = replace(PROFILES["emergency"], events_per_second=spike_rate)
    return [Phase(steady, before), Phase(spike, 60), Phase(steady, seconds - before - 60)]


def _traffic(settings: Settings, phases: list[Phase], start: datetime) -> threading.Thread:
    records = Simulator(seed=16, start=start).generate(phases)
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


# Each gift's source-to-dashboard seconds: emitted_at to the publish of the refresh that first
# loaded it (the first refresh row at or after its first load).
_VISIBLE_SQL = """
select
    date_trunc('minute', gifts.emitted_at) as emitted_minute,
    epoch(refreshes.published_at) - epoch(gifts.emitted_at) as seconds
from marts.fct_donations as gifts
asof join ops.pipeline_freshness as refreshes
    on gifts.first_loaded_at <= refreshes.refreshed_at
where gifts.emitted_at >= ? and refreshes.published_at is not null
"""


def _visible(warehouse: Path, since: datetime) -> list[tuple[datetime, float]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            (minute.replace(tzinfo=UTC), float(seconds))
            for minute, seconds in con.execute(
                _VISIBLE_SQL, [since.astimezone(UTC).replace(tzinfo=None)]
            ).fetchall()
        ]


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(
    runs: list[Run], visible: list[tuple[datetime, float]], title: str, start: datetime
) -> Table:
    table = Table(title=title)
    for column in (
        "minute",
        "runs started",
        "tasks/run",
        "median run s",
        *(f"{step} s" for step in STEPS),
        "max gap s",
        "gifts",
        "P95 source-to-dashboard s",
    ):
        table.add_column(column, justify="right")
    by_minute: dict[datetime, list[Run]] = {}
    for run in runs:
        if run.started:
            by_minute.setdefault(run.started.replace(second=0, microsecond=0), []).append(run)
    seconds: dict[datetime, list[float]] = {}
    for minute, value in visible:
        seconds.setdefault(minute, []).append(value)
    first = start.replace(second=0, microsecond=0)
    last = max([*by_minute, *seconds, first])
    ends = [r.ended for r in runs if r.ended]
    minute = first
    while minute <= last:
        started = by_minute.get(minute, [])
        gaps = [
            (
                r.started - max((e for e in ends if e <= r.started), default=r.started)
            ).total_seconds()
            for r in started
            if r.started
        ]
        table.add_row(
            f"{minute:%H:%M}",
            str(len(started)),
            ",".join(sorted({str(r.tasks) for r in started})) or "-",
            _cell(_median([r.seconds for r in started if r.seconds is not None])),
            *(
                _cell(_median([r.steps[step] for r in started if step in r.steps]))
                for step in STEPS
            ),
            _cell(max(gaps, default=None)),
            f"{len(seconds.get(minute, [])):,}",
            _cell(_p95(seconds.get(minute, []))),
        )
        minute += timedelta(minutes=1)
    return table


def _skipped(runs: list[Run], start: datetime, until: datetime) -> list[datetime]:
    """Minutes from the start to ``until`` in which no run finished (published a refresh)."""
    have = {r.ended.replace(second=0, microsecond=0) for r in runs if r.ended}
    minute = start.replace(second=0, microsecond=0)
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
    parser.add_argument("--spike", action="store_true", help="one minute mid-run at --spike-rate")
    parser.add_argument("--spike-rate", type=int, default=8_000)
    parser.add_argument(
        "--schedule", default=None, help="the refresh DAG's schedule (default: the DAG's own)"
    )
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
    }
    if args.schedule:
        env["ACCFB_REFRESH_SCHEDULE"] = args.schedule
    database = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    console = Console(width=200)
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
    phases = _phases(args.rate, args.minutes * 60, args.spike_rate if args.spike else None)
    try:
        localaws.provision(settings)
        _wait_for("the API server", lambda: _served(f"http://127.0.0.1:{port}/api/v2/version"), 300)
        _wait_for("the DAG to be parsed", lambda: _dag_registered(database), 300)
        # The first build over an empty warehouse is not a minute's refresh: do it before the
        # clock starts, as `refresh_dag.py` does, so the table shows the steady state.
        subprocess.run([str(BIN / "accfb"), "refresh"], env=env, check=True, capture_output=True)
        start = datetime.now(UTC)
        traffic = _traffic(settings, phases, start)
        subprocess.run(
            [str(BIN / "airflow"), "dags", "unpause", DAG_ID],
            env=env,
            check=True,
            capture_output=True,
        )
        console.print(f"{start:%H:%M:%S} traffic and {DAG_ID} started; {args.minutes} minutes")
        traffic.join()
        sent_until = datetime.now(UTC)
        # The runs in the minute and a half after the traffic land what is left of it; Airflow
        # stops once the runs started by then are done.
        cutoff = sent_until + timedelta(seconds=90)
        time.sleep(90)
        _wait_for("the last runs to finish", lambda: _done_until(database, cutoff), 900)
    finally:
        os.killpg(airflow.pid, signal.SIGTERM)
        airflow.wait(timeout=120)
        localaws.stop_endpoint(settings)

    runs = [r for r in _read_runs(database) if r.started and start <= r.started <= cutoff]
    visible = _visible(settings.warehouse_path, start)
    spike = f", {args.spike_rate:,}/s spike in the middle minute" if args.spike else ""
    schedule = args.schedule or "the DAG's schedule"
    title = f"{DAG_ID} under the scheduler ({schedule}), {args.rate:,} events/s{spike}"
    console.print(_table(runs, visible, title, start))
    skipped = _skipped(runs, start, sent_until)
    console.print(
        f"runs: {len(runs)}; minutes of traffic in which no run finished: {len(skipped)}"
        + (f" ({', '.join(f'{m:%H:%M}' for m in skipped)})" if skipped else "")
    )
    console.print(
        f"traffic {start:%H:%M:%S}-{sent_until:%H:%M:%S}; gifts visible: {len(visible):,}; "
        f"P95 source-to-dashboard over the run: {_cell(_p95([s for _, s in visible]))} s"
    )


if __name__ == "__main__":
    main()
