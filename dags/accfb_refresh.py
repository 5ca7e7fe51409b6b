"""The minute: land the stream, build the streaming models, publish them where the dashboards
read, measure and alert, in one task (ingestion/operations/refresh.py).

One task, not one per model: each Airflow task is a process that imports Airflow, the DAG and
its libraries again (seconds each), and a task per model left the build waiting on its own
watchers. The task runs dbt once, in its own process, and writes each model's result to its log
and the figures to CloudWatch; Airflow retries it, and every step resumes from what the last
attempt committed. Cosmos renders the backfill, batch and data-quality DAGs, which run rarely.

The schedule is continuous with one active run: a run starts as soon as the previous one ends,
so a gift waits for at most one run in progress plus its own, instead of up to a minute for the
next cron tick (docs/orchestration.md compares the two, measured). Every operating mode runs the
same way: the 2-minute goal has no quiet-period exception, so the modes change capacity (stream
shards, warehouse base RPU), never the cadence. The cost model prices a refresh at least every
``REFRESH_INTERVAL_SECONDS``, which keeps the warehouse billed all day either way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import accfb_common as common
from airflow.sdk import DAG, get_current_context, task

from ingestion.config.constants import WAREHOUSE_POOL

common.dbt_environment()

# Back to back, one at a time, by default (Airflow 3's continuous timetable needs
# max_active_runs=1); ACCFB_REFRESH_SCHEDULE may name a cron instead (benchmarks/scheduler.py
# compares the two).
SCHEDULE = common.settings().refresh_schedule


def cron_every(seconds: int) -> str:
    """The cron schedule of a whole-minute interval (Airflow's cron has minutes, not seconds):
    the schedule to fall back to where back-to-back runs are not wanted."""
    minutes, rest = divmod(seconds, 60)
    if rest or minutes < 1 or 60 % minutes:
        raise ValueError(f"a refresh interval of {seconds} s is not a whole divisor of an hour")
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


with DAG(
    dag_id="accfb_refresh",
    description="Land, build, publish, check and measure the streaming models: the minute",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=None,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "streaming", "refresh"],
    doc_md=__doc__,
) as dag:

    @task(pool=WAREHOUSE_POOL)
    def refresh(data_interval_start: datetime | None = None) -> dict[str, Any]:
        """Land, build (dbt once, in process), publish, bounded checks, metrics and alerts."""
        from ingestion.operations.refresh import run_minute

        report = run_minute(
            common.settings(),
            since=data_interval_start,
            origin=common.where(get_current_context()),
        )
        figures = report.figures
        return {
            "landed": report.landed,
            "built_nodes": report.built_nodes,
            "rows_published": report.rows_published,
            "freshness_p95_seconds": figures.freshness_p95_seconds if figures else None,
            "alerts_sent": report.alerts_sent,
            "seconds": {step: round(s, 3) for step, s in report.seconds.items()},
        }

    refresh()
