"""Data quality on a schedule: every public mart's Soda contract, independently of the refresh,
so a mart that stops refreshing (a paused DAG, a stuck build) still trips its freshness check."""

from __future__ import annotations

from datetime import UTC, datetime

import accfb_common as common
from airflow.sdk import DAG, task

with DAG(
    dag_id="accfb_data_quality",
    description="Verify the Soda contract of every public mart",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "data-quality", "soda"],
    doc_md=__doc__,
) as dag:
    task(common.verify_contracts, task_id="check_contracts")()
