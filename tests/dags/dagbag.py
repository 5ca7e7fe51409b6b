"""Parse the repository's DAGs as Airflow does, after a test has set its environment."""

from __future__ import annotations

from typing import Any

from ingestion.config.settings import REPO_ROOT


def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def load_dag(dag_id: str) -> Any:
    bag = dagbag()
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]
