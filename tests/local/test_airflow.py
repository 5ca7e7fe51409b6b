"""`accfb airflow` listens on loopback only: the API server on 127.0.0.1 and no log servers,
which Airflow 3.3 binds to every interface (checked by hand with `ss -ltnp`; see the module)."""

from __future__ import annotations

from pathlib import Path

from ingestion.config.settings import Settings
from ingestion.local.airflow import COMPONENTS, airflow_environment


def test_the_components_that_serve_logs_by_default_are_started_without_them() -> None:
    commands = {component[0]: component[1:] for component in COMPONENTS}
    assert commands.keys() == {"api-server", "scheduler", "dag-processor", "triggerer"}
    assert "--skip-serve-logs" in commands["scheduler"]
    assert "--skip-serve-logs" in commands["triggerer"]


def test_the_api_server_and_the_task_api_are_on_loopback(tmp_path: Path) -> None:
    env = airflow_environment(Settings(state_dir=tmp_path), port=8123)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"  # its server binds 0.0.0.0
