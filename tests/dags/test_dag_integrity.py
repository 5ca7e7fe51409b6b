"""Every DAG imports cleanly and follows the house rules, and every public mart has a contract."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingestion.operations.checks import CONTRACTS_DIR, contract_paths
from tests.dags.dagbag import dagbag

EXPECTED_DAGS = {
    "accfb_refresh": "* * * * *",
    "accfb_data_quality": "*/15 * * * *",
    "accfb_backfill": None,
    "accfb_batch_crm": "0 13 * * *",
    "accfb_batch_settlements": "0 14 * * *",
    "accfb_lineage_site": "@hourly",
}


@pytest.fixture(scope="module")
def dags(airflow_db: Path) -> dict[str, Any]:
    bag = dagbag()
    assert bag.import_errors == {}
    return dict(bag.dags)


def test_the_dags_parse_with_their_schedules(dags: dict[str, Any]) -> None:
    assert {dag_id: dag.schedule for dag_id, dag in dags.items()} == EXPECTED_DAGS


def test_every_dag_runs_one_at_a_time_without_catchup_and_is_owned_and_tagged(
    dags: dict[str, Any],
) -> None:
    for dag in dags.values():
        assert dag.catchup is False, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
        assert "accfb" in dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id


def test_every_task_retries_with_exponential_backoff_and_alerts_when_it_gives_up(
    dags: dict[str, Any],
) -> None:
    for dag in dags.values():
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            assert task.owner == "data-platform", where
            assert task.retries >= 2, where
            assert task.retry_exponential_backoff, where
            assert task.max_retry_delay <= timedelta(minutes=5), where
            assert task.on_failure_callback, where


def test_the_refresh_builds_once_and_shows_every_streaming_model(
    dags: dict[str, Any],
) -> None:
    tasks = {t.task_id for t in dags["accfb_refresh"].tasks}
    assert "transform.dbt_producer_watcher" in tasks
    for model in (
        "stg_stream__records",
        "stg_stream__events",
        "fct_donations",
        "quarantined_events",
    ):
        assert f"transform.{model}_run" in tasks
    land = dags["accfb_refresh"].get_task("land")
    # No gate: every run refreshes, in every operating mode.
    assert land.upstream_list == []


@pytest.mark.parametrize(
    ("dag_id", "models"),
    [
        ("accfb_batch_crm", ["stg_crm__donor_exports", "dim_donors"]),
        (
            "accfb_batch_settlements",
            ["stg_processor__settlements", "rpt_settlement_reconciliation", "rpt_daily_close"],
        ),
    ],
)
def test_a_batch_load_rebuilds_the_models_that_read_its_export(
    dags: dict[str, Any], dag_id: str, models: list[str]
) -> None:
    tasks = {t.task_id for t in dags[dag_id].tasks}
    for model in models:
        assert f"transform.{model}_run" in tasks, (dag_id, sorted(tasks))


def _public_marts(manifest: Path) -> set[str]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith(("models/marts/", "models/operations/"))
    }


def test_every_public_mart_has_a_soda_contract_and_every_contract_a_mart(airflow_db: Path) -> None:
    marts = _public_marts(airflow_db / "dbt" / "manifest.json")
    contracts = {path.stem for path in contract_paths()}
    assert marts, "no public marts found in the manifest"
    assert marts - contracts == set(), f"add soda contracts under {CONTRACTS_DIR}"
    assert contracts - marts == set(), "contracts for models that no longer exist"


def test_the_refresh_runs_at_the_cadence_the_cost_model_prices(dags: dict[str, Any]) -> None:
    from accfb_refresh import cron_every

    from ingestion.config.constants import REFRESH_INTERVAL_SECONDS
    from ingestion.operations.cost.model import Workload

    assert dags["accfb_refresh"].schedule == cron_every(REFRESH_INTERVAL_SECONDS)
    assert Workload(modes=()).refresh_interval_seconds == REFRESH_INTERVAL_SECONDS
    assert cron_every(60) == "* * * * *"
    assert cron_every(300) == "*/5 * * * *"
    with pytest.raises(ValueError, match="whole divisor"):
        cron_every(90)


def test_every_task_that_writes_the_warehouse_takes_the_one_writer_pool(
    dags: dict[str, Any],
) -> None:
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    from ingestion.config.constants import WAREHOUSE_POOL

    # publish_serving_copy holds the local warehouse file while it copies the marts out.
    writers = {"land", "load_window", "load", "publish_serving_copy", "close"}
    pooled: dict[str, set[str]] = {}
    for dag in dags.values():
        for task in dag.tasks:
            writes = isinstance(task, DbtProducerWatcherOperator) or task.task_id in writers
            assert (task.pool == WAREHOUSE_POOL) == writes, (dag.dag_id, task.task_id)
            if writes:
                pooled.setdefault(dag.dag_id, set()).add(task.task_id)
    # Every DAG that builds has its dbt build and its load in the pool; data quality and the
    # lineage site only read.
    assert set(pooled) == set(EXPECTED_DAGS) - {"accfb_data_quality", "accfb_lineage_site"}
    # A build and its load in each; the refresh also publishes the local serving copy, and the
    # settlement load closes the day before.
    extra = {"accfb_refresh", "accfb_batch_settlements"}
    assert {dag: len(tasks) for dag, tasks in pooled.items()} == {
        dag: 3 if dag in extra else 2 for dag in pooled
    }, pooled
