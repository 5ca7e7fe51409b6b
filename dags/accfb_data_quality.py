"""Data quality on a schedule, independently of the refresh: every whole-table dbt test and
every public mart's Soda contract over whole tables. Neither runs in the minute (its checks are
the tests bounded by the new batches), since their cost follows the history; a failing one
alerts once, and once more when it recovers, without stopping any mart. Staleness is the
refresh heartbeat's alarm, not a contract's."""

from __future__ import annotations

from datetime import UTC, datetime

import accfb_common as common
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowFailException

common.dbt_environment()

with DAG(
    dag_id="accfb_data_quality",
    description="Run the whole-table dbt tests and verify the Soda contract of every public mart",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "data-quality", "soda"],
    doc_md=__doc__,
) as dag:

    @task
    def dbt_tests() -> int:
        """The whole-table tests. A failure fails the task at once (rerunning a test on the same
        data cannot pass), which alerts with the failing tests (alert_on_failure)."""
        from ingestion.config.dbt import DbtError
        from ingestion.operations.quality import run_data_quality_tests

        try:
            return run_data_quality_tests(common.settings()).nodes
        except DbtError as error:
            raise AirflowFailException(f"dbt tests failed: {error.detail}") from error

    # Independent: a failed dbt test never hides a broken contract, nor the reverse.
    dbt_tests()
    task(common.verify_contracts, task_id="check_contracts")()
