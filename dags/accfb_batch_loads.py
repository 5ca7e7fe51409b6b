"""Daily batch loads of the sources that arrive as files: the CRM export and the processor's
settlement export. Each DAG waits for the day's file, loads every new file once, rebuilds what
reads the source, and verifies the contracts; the settlement DAG then closes the day before.

The sensor reschedules itself between pokes, so a late file holds no worker slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import accfb_common as common
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, task
from cosmos import DbtTaskGroup

from ingestion.batch.sources import BATCH_SOURCES, dropped_files
from ingestion.config import aws

common.dbt_environment()

# When each source's export is due, in UTC (its prefix and table: ingestion/batch/loads.py).
SCHEDULES = {"crm": "0 13 * * *", "settlements": "0 14 * * *"}
# How often each source exports; a run waits for a file younger than this.
EXPORT_PERIOD = timedelta(days=1)


def file_arrived(source: str, logical_date: datetime | None = None) -> bool:
    """This run's export is in the bucket: a CSV the load would take, dropped within the day
    before the run's date or since. The previous day's file (loaded by its own run) does not
    let a day without an export pass; a rerun of the day still finds its file (and the load
    skips it)."""
    settings = common.settings()
    s3 = aws.client("s3", settings)
    since = (logical_date or datetime.now(UTC)) - EXPORT_PERIOD
    return bool(dropped_files(s3, settings.raw_bucket, BATCH_SOURCES[source], since=since))


@task(task_id="close")
def close_previous_day(logical_date: datetime | None = None) -> int:
    """Close the UTC day before the run's, once its settlement export is in and checked, and
    record (and alert) every closed day that moved since (ingestion/operations/close.py)."""
    from ingestion.operations.close import close

    day = (logical_date or datetime.now(UTC)).date() - timedelta(days=1)
    return len(close(common.settings(), day))


for name, schedule in SCHEDULES.items():
    with DAG(
        dag_id=f"accfb_batch_{name}",
        description=f"Load the {name} export, rebuild what reads it, check",
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=common.DEFAULT_ARGS,
        tags=["accfb", "batch", name],
        doc_md=__doc__,
    ) as dag:
        wait = PythonSensor(
            task_id="wait_for_file",
            python_callable=file_arrived,
            op_args=[name],
            mode="reschedule",
            poke_interval=300,
            timeout=timedelta(hours=8).total_seconds(),
        )

        @task(task_id="load")
        def load(source: str = name) -> int:
            """Every new version of the source's files, once (unchanged files are skipped; a
            file rewritten under its key loads as a new version and alerts). A refused file
            fails the task at once after the good ones have loaded, so its reason reaches the
            alert; the file stays in the bucket until a corrected export replaces it. A load
            that failed for any other reason (BatchLoadFailed: the warehouse, the network)
            fails the task with the default retries."""
            from ingestion.batch.loads import load_batches

            (report,) = load_batches(common.settings(), [source])
            if report.refused:
                raise common.ExportsRefused(dict(report.refused))
            return report.files - report.skipped

        transform = DbtTaskGroup(
            group_id="transform",
            project_config=common.project_config(),
            profile_config=common.profile_config(),
            execution_config=common.execution_config(),
            render_config=common.render_config(f"source:{BATCH_SOURCES[name].table}+"),
            default_args=common.DEFAULT_ARGS,
            operator_args=common.WATCHER_OPERATOR_ARGS,
        )
        check_contracts = task(common.verify_contracts, task_id="check_contracts")

        chain = wait >> load() >> transform >> check_contracts()
        writers = ["load"]
        if name == "settlements":
            chain >> close_previous_day()
            writers.append("close")
        common.one_writer(dag, *writers)
